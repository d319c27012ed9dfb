"""Work-arounds for two Keras bugs that break every ``fit`` under MultiWorkerMirroredStrategy.

Kept in this one module, applied only while a multi-worker run trains (a context manager
that restores Keras afterwards), and only for the Keras versions checked here.
``tests/test_training_multi_worker.py`` runs a two-worker ``fit`` without them and expects the
failure, so the day Keras fixes the bugs that test says these can go.

1. keras-team/keras#20585: before the first step, Keras builds the model from one batch
   and averages the per-replica batch with ``strategy.reduce``, which takes one tensor,
   not the ``(x, y)`` tuple every supervised dataset yields ("Attempt to convert a value
   (PerReplica ...)"). Only shapes and dtypes matter there, so the first replica's batch
   is used instead.
2. tensorflow/tensorflow#72388: step logs are reduced with ``strategy.reduce("MEAN", v,
   axis=0)``, which fails on the scalar losses and metrics every model returns ("Invalid
   reduction dimension 0 for input with 0 dimensions"). Scalars are reduced with
   ``axis=None`` (the mean over replicas, as intended).
"""

import contextlib

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer

# Versions these patches were checked against (their targets are private Keras code).
CHECKED_KERAS_VERSIONS = ("3.15",)


def _first_replica(value):
    if isinstance(value, tf.distribute.DistributedValues):
        return tf.distribute.get_strategy().experimental_local_results(value)[0]
    return value


def _symbolic_build_from_first_replica(self, iterator=None, data_batch=None):
    if self._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, batches in iterator:
            with self.distribute_strategy.scope():
                data_batch = tf.nest.map_structure(_first_replica, next(batches))
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _reduce_scalars_without_axis(original):
    def reduce_per_replica(values, strategy, reduction):
        multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        if not multi_worker or reduction not in ("auto", "mean"):
            return original(values, strategy, reduction)

        def reduce_one(value):
            local = strategy.experimental_local_results(value)[0]
            axis = None if local.shape.rank == 0 else 0
            return strategy.reduce("MEAN", value, axis=axis)

        return tf.nest.map_structure(reduce_one, values)

    return reduce_per_replica


def _check_version() -> None:
    version = ".".join(keras.__version__.split(".")[:2])
    if version not in CHECKED_KERAS_VERSIONS:
        raise RuntimeError(
            f"Multi-worker training was checked with Keras {CHECKED_KERAS_VERSIONS}; this is "
            f"Keras {keras.__version__}. Check whether keras-team/keras#20585 and "
            "tensorflow/tensorflow#72388 still apply and update kcolor/training/multi_worker.py."
        )


@contextlib.contextmanager
def multi_worker_fixes():
    """Patch Keras' TensorFlow trainer for the duration of a multi-worker ``fit``."""
    _check_version()
    trainer_class = tf_trainer.TensorFlowTrainer
    saved = (trainer_class._maybe_symbolic_build, tf_trainer.reduce_per_replica)
    trainer_class._maybe_symbolic_build = _symbolic_build_from_first_replica
    tf_trainer.reduce_per_replica = _reduce_scalars_without_axis(saved[1])
    try:
        yield
    finally:
        trainer_class._maybe_symbolic_build, tf_trainer.reduce_per_replica = saved
