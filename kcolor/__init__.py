"""kcolor: automatic colorization of grayscale photographs with Keras 3.

The package, from the bottom layer up (a module imports only from layers below it):

    kcolor.color, kcolor.images, kcolor.metrics, kcolor.limits, kcolor.errors,
    kcolor.outputs, kcolor.precision
                      Lab conversions, image ops, quality metrics, limits, error
                      classes, writing files atomically, choosing the arithmetic.
    kcolor.data       sources, decoding, the tf.data pipeline, TFRecord shards, mixes.
    kcolor.models     the models (Larsson et al. 2016, Cao et al. 2017), their common
                      interface, the model-kind registry, the trunks and the presets.
    kcolor.inference  the full-resolution colorize path and the colorizer interface.
    kcolor.deploy     SavedModel export for TF Serving, TFLite, int8, serving clients.
    kcolor.api        kcolor.colorize, kcolor.make_colorizer, kcolor.load_model (and
                      kcolor.open_colorizer, deprecated).
    kcolor.video      videos: frames through the colorize path, colour carried along
                      the motion between frames, audio copied.
    kcolor.jobs, kcolor.evaluation, kcolor.training
                      colorizing many files (locally or through a server), evaluating
                      against baselines, training runs.
    kcolor.app        ``kcolor app``, the web page (optional: Gradio).
    kcolor.cli        the ``kcolor`` command.

Submodules load on first use, so ``kcolor --version`` does not load TensorFlow.
"""

import importlib
import warnings
from typing import TYPE_CHECKING

# 0.2: the modules of 0.1 moved into subpackages (still reachable, deprecated, below).
__version__ = "0.2.0"

_SUBMODULES = (
    "api",
    "color",
    "data",
    "deploy",
    "errors",
    "evaluation",
    "images",
    "inference",
    "jobs",
    "limits",
    "metrics",
    "models",
    "outputs",
    "precision",
    "training",
    "video",
)
# Functions re-exported from their modules, also imported on first use.
_FUNCTIONS = {
    "colorize": "api",
    "load_model": "api",
    "make_colorizer": "api",
    "open_colorizer": "api",
    "colorize_video": "video",
    "colorized_frames": "video",
}
# Modules of kcolor 0.1 that moved into subpackages: still reachable as
# ``kcolor.<old name>`` (with a DeprecationWarning) until kcolor 0.3.
_MOVED = {
    "batch": "kcolor.jobs",
    "bundled": "kcolor.models.presets",
    "callbacks": "kcolor.training.callbacks",
    "config": "kcolor.training.config",
    "decoding": "kcolor.data.decoding",
    "export": "kcolor.deploy.export",
    "int8": "kcolor.deploy.int8",
    "mix": "kcolor.data.mix",
    "serving": "kcolor.deploy.serving",
    "sources": "kcolor.data.sources",
    "tflite": "kcolor.deploy.tflite",
    "tfrecords": "kcolor.data.tfrecords",
}
__all__ = ["__version__", *_SUBMODULES, *_FUNCTIONS]

if TYPE_CHECKING:
    # What __getattr__ loads on first use, named here for editors and type checkers.
    from kcolor import (  # noqa: F401
        api,
        color,
        data,
        deploy,
        errors,
        evaluation,
        images,
        inference,
        jobs,
        limits,
        metrics,
        models,
        outputs,
        precision,
        training,
        video,
    )
    from kcolor.api import colorize, load_model, make_colorizer, open_colorizer  # noqa: F401
    from kcolor.video import colorize_video, colorized_frames  # noqa: F401


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kcolor.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"kcolor.{_FUNCTIONS[name]}"), name)
    if name in _MOVED:
        warnings.warn(
            f"kcolor.{name} moved to {_MOVED[name]}; the old name goes in kcolor 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module 'kcolor' has no attribute {name!r}")
