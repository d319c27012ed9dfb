"""A contact sheet comparing models on a few photos: gray | each model | original.

Example (the picture in docs/results.md):
    python scripts/comparison_sheet.py BSDS500/val/3096.jpg ... \\
        --models hypercolumn gan --samples 1 3 -o docs/images/comparison.jpg
"""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", help="colour photos")
    parser.add_argument(
        "--models", nargs="+", default=["hypercolumn"], help="bundled names or .keras files"
    )
    parser.add_argument(
        "--samples", nargs="+", type=int, help="colourings per model (default 1 each)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=256, help="processing size")
    parser.add_argument("--height", type=int, default=120, help="row height in pixels")
    parser.add_argument("-o", "--output", required=True, help="PNG or JPEG to write")
    args = parser.parse_args(argv)
    samples = args.samples or [1] * len(args.models)
    if len(samples) != len(args.models):
        parser.error("give one --samples value per model")

    import numpy as np

    from kcolor import evaluation, inference

    colorizers = [inference.Colorizer(inference.load_model(m), args.size) for m in args.models]
    rows = []
    for path in args.photos:
        original = inference.read_image(path)
        row = [inference.compose(original, np.zeros((1, 1, 2), np.float32))]
        for colorizer, count in zip(colorizers, samples, strict=True):
            row += inference.colorize_rgb(original, colorizer, count, args.seed)
        rows.append([*row, original])
    evaluation.contact_sheet(rows, args.output, args.height)
    return 0


if __name__ == "__main__":
    sys.exit(main())
