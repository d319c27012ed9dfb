"""Save a training run's epoch-N checkpoint as a model file, to evaluate or bundle it.

GAN training oscillates: a later epoch is not always better on held-out photos, so the
epoch to keep is chosen by evaluating the checkpoints. Example:
    python scripts/checkpoint_model.py runs/gan_guided 1 -o gan_epoch1.keras
    kcolor evaluate MIX/*/val-*.tfrecord --limit 60 --seed 1 --model gan_epoch1.keras \
        --samples 4
    python scripts/bundle_weights.py runs/gan_guided --name gan --checkpoint 1 ...
"""

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a kcolor train run directory")
    parser.add_argument("epoch", type=int, help="the checkpoint's epoch (from 1)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="the .keras file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.overwrite:
        raise SystemExit(f"{args.output} exists (pass --overwrite to replace it)")

    from kcolor import training

    try:
        model = training.model_from_checkpoint(args.run_dir, args.epoch)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    model.save(args.output)
    print(f"{args.output}: epoch {args.epoch} of {args.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
