"""Where the benchmarks find the public photo sets they measure on.

Point the ``KCOLOR_PHOTOS`` environment variable at a folder that holds them as:

- ``imagenette/``: Imagenette (fast.ai, https://github.com/fastai/imagenette), any size;
- ``bsds500/val/``: the val split of BSDS500, the Berkeley Segmentation Dataset
  (https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/resources.html).

Without them the benchmarks measure synthetic photos and say so in their tables.
"""

import io
import os
from pathlib import Path

import numpy as np

PHOTOS_ENV = "KCOLOR_PHOTOS"


def photo_set(*parts: str) -> Path | None:
    """The folder ``$KCOLOR_PHOTOS/<parts...>``, or None when it is not there."""
    root = os.environ.get(PHOTOS_ENV)
    folder = Path(root, *parts) if root else None
    return folder if folder is not None and folder.is_dir() else None


def synthetic_jpegs(folder: Path, count: int) -> list[str]:
    """``count`` 224x224 JPEGs of coloured gradients with noise in ``folder`` (seeded):
    what the benchmarks read when no public photo set is there."""
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        gradient = np.linspace(0, 255, 224)[None, :, None] * rng.uniform(0.3, 1, (1, 1, 3))
        noise = rng.normal(0, 20, (224, 224, 3))
        pixels = np.clip(gradient + noise, 0, 255).astype(np.uint8)
        path = folder / f"synthetic_{index:04d}.jpg"
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=75)
        path.write_bytes(buffer.getvalue())
        paths.append(str(path))
    return paths
