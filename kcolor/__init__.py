"""kcolor: automatic colorization of grayscale photographs with Keras 3.

Submodules (imported on first use, so ``kcolor --version`` does not load TensorFlow):
    kcolor.color      sRGB <-> Lab <-> LCh as TensorFlow ops, and the model normalisation.
    kcolor.data       the tf.data pipeline streaming normalised (L, ab) batches.
    kcolor.decoding   decoding encoded images in graphs, skipping the broken ones.
    kcolor.models     the colorization models (Cao et al. 2017 GAN).
    kcolor.sources    resolving folders, globs, files and shards to file lists.
    kcolor.tfrecords  sharding image folders into TFRecord files.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("color", "data", "decoding", "models", "sources", "tfrecords")
__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kcolor.{name}")
    raise AttributeError(f"module 'kcolor' has no attribute {name!r}")
