"""kcolor: automatic colorization of grayscale photographs with Keras 3.

Submodules (imported on first use, so ``kcolor --version`` does not load TensorFlow):
    kcolor.color      sRGB <-> Lab <-> LCh as TensorFlow ops, and the model normalisation.
    kcolor.data       the tf.data pipeline streaming normalised (L, ab) batches.
    kcolor.decoding   decoding encoded images in graphs, skipping the broken ones.
    kcolor.models     the colorization models (Larsson et al. 2016, Cao et al. 2017).
    kcolor.inference  the full-resolution colorize path; kcolor.colorize, kcolor.load_model.
    kcolor.precision  float32, bfloat16 or int8 inference, and which this machine runs fastest.
    kcolor.int8       int8 inference: TFLite conversions made on first use and cached.
    kcolor.batch      colorizing many files, reading and writing beside the network.
    kcolor.metrics    PSNR, SSIM, ab-error AuC, colourfulness.
    kcolor.sources    resolving folders, globs, files and shards to file lists.
    kcolor.tfrecords  sharding image folders into TFRecord files.
    kcolor.export     SavedModel export for TF Serving (the colorize path in the graph).
    kcolor.tflite     TFLite variants for devices, run with ai-edge-litert.
    kcolor.serving    REST and gRPC clients for a model served by TF Serving.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "batch",
    "color",
    "data",
    "decoding",
    "evaluation",
    "export",
    "inference",
    "int8",
    "metrics",
    "models",
    "outputs",
    "precision",
    "serving",
    "sources",
    "tfrecords",
    "tflite",
)
# Functions re-exported from their modules, also imported on first use.
_FUNCTIONS = {
    "colorize": "inference",
    "load_model": "inference",
    "make_colorizer": "inference",
}
__all__ = ["__version__", *_SUBMODULES, *_FUNCTIONS]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kcolor.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"kcolor.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module 'kcolor' has no attribute {name!r}")
