"""Flicker of a GAN's colouring of a video with one seed for the whole video against a new
seed per frame, each with and without temporal fusion (warping error, Lab units).

Example:
    python scripts/video_seed_flicker.py clip.mp4 --model gan --frames 90
"""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", help="a video")
    parser.add_argument("--model", default="gan", help="a GAN: bundled name or file (gan)")
    parser.add_argument("--size", type=int, default=256, help="processing size (256)")
    parser.add_argument("--seed", type=int, default=7, help="the one seed (7)")
    parser.add_argument("--frames", type=int, help="only the first frames")
    args = parser.parse_args(argv)

    import numpy as np

    import kcolor
    from kcolor.video import io
    from kcolor.video.colorize import gray_uint8
    from kcolor.video.temporal import ColorMemory, WarpingError

    colorizer = kcolor.make_colorizer(args.model, args.size, "float32")
    if not colorizer.diverse:
        print(f"{args.model} gives one colouring: seeds do not apply", file=sys.stderr)
        return 1
    kinds = ("one seed", "seed per frame", "one seed, fused", "seed per frame, fused")
    flicker = {kind: WarpingError() for kind in kinds}
    memories = {kind: ColorMemory() for kind in kinds[2:]}
    for index, frame in enumerate(io.read_frames(args.video)):
        if args.frames is not None and index >= args.frames:
            break
        l_norm = colorizer.model_input(frame.rgb)
        gray = gray_uint8(l_norm)
        draws = {
            "one seed": colorizer.predict_ab(l_norm, 1, args.seed),
            "seed per frame": colorizer.predict_ab(l_norm, 1, args.seed + 1 + index),
        }
        draws = {kind: np.asarray(ab, np.float32)[0, 0] for kind, ab in draws.items()}
        for kind, ab in draws.items():
            flicker[kind].add(ab, gray)
            fused = f"{kind}, fused"
            flicker[fused].add(memories[fused].color(gray, lambda ab=ab: ab), gray)
    for kind in kinds:
        print(f"{kind:<24}{flicker[kind].value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
