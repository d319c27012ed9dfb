"""Train the diverse colorization GAN (Cao et al. 2017): ``kcolor train gan``.

A thin wrapper; takes the same flags. Example (the bundled model's settings):
    python scripts/train_gan.py --config scripts/configs/gan.yaml \
        --data photos/train --val photos/val --run-dir runs/gan
"""

import sys

from kcolor.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "gan", *sys.argv[1:]]))
