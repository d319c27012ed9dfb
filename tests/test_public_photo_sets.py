"""Grayscale detection checked on real photos (not part of the repository).

``KCOLOR_PHOTOS`` names a folder holding ``imagenette/`` (Imagenette, fast.ai,
https://github.com/fastai/imagenette) and ``imagenet_samples/`` (photos from the ImageNet
validation set), each with a ``grayscale.txt`` that lists its grayscale and sepia photos
(one per line, tab-separated, the file name last; sepia lines start with ``sepia``).
Marked large: the test reads thousands of files. Run it with
``KCOLOR_PHOTOS=FOLDER python -m pytest --run-large tests/test_public_photo_sets.py``.
"""

import os
from pathlib import Path

import pytest

from kcolor import data
from kcolor.data import sources

PHOTOS = Path(os.environ.get("KCOLOR_PHOTOS", "")) if os.environ.get("KCOLOR_PHOTOS") else None

pytestmark = [
    pytest.mark.large,
    pytest.mark.skipif(PHOTOS is None, reason="KCOLOR_PHOTOS is not set"),
]


def listed_grayscale(folder):
    """Paths listed in the folder's grayscale.txt (last tab-separated field of each line)."""
    lines = (folder / "grayscale.txt").read_text().splitlines()
    names = [line.split("\t")[-1] for line in lines if line and not line.startswith("#")]
    return {str(folder / name) for name in names}, {
        line.split("\t")[-1] for line in lines if line.startswith("sepia")
    }


@pytest.mark.parametrize("subset", ["imagenet_samples", "imagenette"])
def test_grayscale_detection_agrees_with_the_curated_lists(subset):
    folder = PHOTOS / subset
    gray, sepia = listed_grayscale(folder)
    everything = sources.resolve_source(folder).images
    gray_paths = [p for p in everything if p in gray and Path(p).name not in sepia]
    colour_paths = [p for p in everything if p not in gray]
    assert len(gray_paths) >= 20

    stats = data.PipelineStats()
    kept = data.lab_dataset(gray_paths, 128, 64, training=False, stats=stats, check_sources=False)
    assert sum(int(batch[0].shape[0]) for batch in kept) == 0
    assert stats.as_dict()["grayscale"] == len(gray_paths)

    stats = data.PipelineStats()
    kept = data.lab_dataset(colour_paths, 128, 64, training=False, stats=stats)
    kept_count = sum(int(batch[0].shape[0]) for batch in kept)
    # A colour photo may be skipped only when its centre crop itself has no colour.
    assert kept_count >= 0.995 * len(colour_paths)
    assert stats.as_dict()["unreadable"] == 0
