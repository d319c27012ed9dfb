"""A strip of a colour video's frames for the docs: per row, one frame gray, coloured frame
by frame, coloured with temporal fusion, and the original.

Example:
    python scripts/video_strip.py clip.mp4 --frames 0 3 6 9 -o docs/images/video_strip.jpg
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

COLUMNS = ("gray", "frame by frame", "temporal fusion", "original")
LABEL_HEIGHT = 18


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", help="a colour video")
    parser.add_argument("-o", "--output", required=True, help="the strip (.jpg or .png)")
    parser.add_argument(
        "--frames", type=int, nargs="+", default=[0, 4, 8, 12], help="frame numbers"
    )
    parser.add_argument("--model", default="default", help="a bundled model's name or a file")
    parser.add_argument("--height", type=int, default=160, help="height of each picture")
    parser.add_argument("--force", action="store_true", help="replace an existing strip")
    args = parser.parse_args(argv)
    if os.path.exists(args.output) and not args.force:
        print(f"{args.output} exists (pass --force to replace it)", file=sys.stderr)
        return 1

    import kcolor
    from kcolor import outputs
    from kcolor.video import TemporalSettings, colorized_frames

    colorizer = kcolor.make_colorizer(args.model)
    alone = colorized_frames(args.video, colorizer, temporal=TemporalSettings(enabled=False))
    steady = colorized_frames(args.video, colorizer)
    wanted, rows = set(args.frames), []
    for index, ((frame, by_frame), (_, fused)) in enumerate(zip(alone, steady, strict=True)):
        if index in wanted:
            gray = np.asarray(Image.fromarray(frame.rgb).convert("L").convert("RGB"))
            pictures = [gray, by_frame, fused, frame.rgb]
            width = round(frame.rgb.shape[1] * args.height / frame.rgb.shape[0])
            rows.append([Image.fromarray(p).resize((width, args.height)) for p in pictures])
        if index >= max(wanted):
            break
    if not rows:
        print(f"{args.video}: none of frames {sorted(wanted)} exist", file=sys.stderr)
        return 1
    width = rows[0][0].width
    sheet = Image.new(
        "RGB", (width * len(COLUMNS), LABEL_HEIGHT + args.height * len(rows)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for column, label in enumerate(COLUMNS):
        draw.text((column * width + 4, 3), label, fill="black")
    for row, pictures in enumerate(rows):
        for column, picture in enumerate(pictures):
            sheet.paste(picture, (column * width, LABEL_HEIGHT + row * args.height))
    fmt = "jpg" if args.output.lower().endswith((".jpg", ".jpeg")) else "png"
    outputs.save_image(np.asarray(sheet), args.output, fmt, replace=args.force)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
