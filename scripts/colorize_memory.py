"""Memory of ``kcolor.colorize`` called in a loop on photos of many sizes, as a notebook or
a web page calls it: the processing shapes the sizes make, and resident memory after
every hundred calls, in one fresh process.

Example:
    python scripts/colorize_memory.py --calls 300 --size 96 --json memory.json
"""

import argparse
import json
import sys


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls in all (300)")
    parser.add_argument("--size", type=int, default=96, help="processing size (96)")
    parser.add_argument("--seed", type=int, default=0, help="draws the photo sizes (0)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.calls < 100:
        parser.error("--calls must be at least 100")

    import numpy as np

    import kcolor
    from kcolor import inference

    rng = np.random.default_rng(args.seed)
    sizes = [tuple(int(side) for side in rng.integers(60, 400, 2)) for _ in range(args.calls)]
    multiple = kcolor.load_model().input_multiple
    shapes = {
        tuple(np.asarray(inference.processing_shape(*size, args.size, multiple))) for size in sizes
    }
    marks = []
    for call, (height, width) in enumerate(sizes, start=1):
        photo = (rng.random((height, width, 3)) * 255).astype(np.uint8)
        kcolor.colorize(photo, size=args.size)
        if call % 100 == 0:
            marks.append(round(resident_mb(), 1))
    figures = {"calls": args.calls, "photo_sizes": len(set(sizes)), "shapes": len(shapes),
               "resident_mb_every_100_calls": marks}  # fmt: skip
    print(
        f"{figures['photo_sizes']} photo sizes, {len(shapes)} processing shapes at size "
        f"{args.size}; resident MB after each 100 calls: {marks}"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
