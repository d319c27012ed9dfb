"""Training runs: ``kcolor train`` and its Python form.

kcolor.training.config        the run settings (YAML or JSON) and their checks.
kcolor.training.loop          building the model, fitting, checkpoints, resuming.
kcolor.training.callbacks     TensorBoard previews, throughput, divergence guard, backups.
kcolor.training.multi_worker  fixes for Keras under MultiWorkerMirroredStrategy.

The loop's public names (``train``, ``build_model``, ``model_from_checkpoint``,
``make_strategy``, ``TrainingDiverged``) are also here, as ``kcolor.training.train``.
"""

import importlib

_LOOP_NAMES = (
    "TrainResult",
    "TrainingDiverged",
    "Worker",
    "build_model",
    "checkpoint_path",
    "make_strategy",
    "model_from_checkpoint",
    "train",
    "worker_of",
)
__all__ = ["callbacks", "config", "loop", "multi_worker", *_LOOP_NAMES]


def __getattr__(name):
    if name in _LOOP_NAMES:
        return getattr(importlib.import_module("kcolor.training.loop"), name)
    if name in __all__:
        return importlib.import_module(f"kcolor.training.{name}")
    raise AttributeError(f"module 'kcolor.training' has no attribute {name!r}")
