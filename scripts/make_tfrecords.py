"""Shard folders of images into TFRecord files: a thin wrapper over ``kcolor make-tfrecords``.

Example:
    python scripts/make_tfrecords.py imagenette/train -o shards/imagenette
"""

import sys

from kcolor.cli import main

if __name__ == "__main__":
    sys.exit(main(["make-tfrecords", *sys.argv[1:]]))
