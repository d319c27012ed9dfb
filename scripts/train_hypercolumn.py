"""Train the hypercolumn colorizer (Larsson et al. 2016): ``kcolor train hypercolumn``.

A thin wrapper; takes the same flags. Example (the bundled model's settings):
    python scripts/train_hypercolumn.py --config scripts/configs/hypercolumn.yaml \
        --data photos/train --val photos/val --run-dir runs/hypercolumn
"""

import sys

from kcolor.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "hypercolumn", *sys.argv[1:]]))
