"""Build a training mix (TFRecord shards per source, validation splits, a JSON record).

Example:
    python scripts/build_training_mix.py scripts/configs/training_mix.yaml \
        --root downloads/ -o mix/
    kcolor train hypercolumn --config scripts/configs/hypercolumn.yaml \
        --config mix/data.yaml --run-dir runs/hc

See kcolor/data/mix.py for the spec's fields and what the mix folder holds.
"""

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="the mix spec (YAML or JSON)")
    parser.add_argument("--root", required=True, help="folder the spec's source folders are in")
    parser.add_argument("-o", "--output", required=True, help="folder for the mix")
    parser.add_argument("--images-per-shard", type=int, default=2000)
    parser.add_argument("--overwrite", action="store_true", help="rebuild an existing mix")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    from kcolor.data import mix

    record = mix.build_mix(
        mix.load_spec(args.spec),
        args.root,
        args.output,
        images_per_shard=args.images_per_shard,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    counts = ("listed", "unreadable", "near_gray", "train", "val")
    print(f"{'source':<16}" + "".join(f"{key:>12}" for key in counts))
    for name, entry in record["sources"].items():
        print(f"{name:<16}" + "".join(f"{entry[key]:>12}" for key in counts))
    print(f"mean tint (a, b): {json.dumps(record['mean_tint'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
