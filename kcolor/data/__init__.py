"""Training data: image sources, decoding, the tf.data pipeline and TFRecord shards.

kcolor.data.sources    resolving folders, globs, files and shards to file lists.
kcolor.data.decoding   decoding encoded images in graphs, skipping the broken ones.
kcolor.data.pipeline   the tf.data pipeline streaming normalised (L, ab) batches.
kcolor.data.tfrecords  sharding image folders into TFRecord files.
kcolor.data.mix        building a weighted training mix of several photo collections.

The pipeline's public names (``lab_dataset``, ``PipelineStats``) are also here, as
``kcolor.data.lab_dataset``; they load on first use, so listing sources needs no
TensorFlow.
"""

import importlib

_PIPELINE_NAMES = ("AUTOTUNE", "PipelineStats", "lab_dataset")
__all__ = ["decoding", "mix", "pipeline", "sources", "tfrecords", *_PIPELINE_NAMES]


def __getattr__(name):
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module("kcolor.data.pipeline"), name)
    if name in __all__:
        return importlib.import_module(f"kcolor.data.{name}")
    raise AttributeError(f"module 'kcolor.data' has no attribute {name!r}")
