"""Where the benchmarks find the public photo sets they measure on.

Point the ``KCOLOR_PHOTOS`` environment variable at a folder that holds them as:

- ``imagenette/``: Imagenette (fast.ai, https://github.com/fastai/imagenette), any size;
- ``bsds500/val/``: the val split of BSDS500, the Berkeley Segmentation Dataset
  (https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/resources.html).

Without them the benchmarks measure synthetic photos and say so in their tables.
"""

import os
from pathlib import Path

PHOTOS_ENV = "KCOLOR_PHOTOS"


def photo_set(*parts: str) -> Path | None:
    """The folder ``$KCOLOR_PHOTOS/<parts...>``, or None when it is not there."""
    root = os.environ.get(PHOTOS_ENV)
    folder = Path(root, *parts) if root else None
    return folder if folder is not None and folder.is_dir() else None
