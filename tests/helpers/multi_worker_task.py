"""One worker of a two-process MultiWorkerMirroredStrategy run (started by
tests/test_training_multi_worker.py with TF_CONFIG set).

Usage: python multi_worker_task.py MODE PHOTOS OUT
  MODE "kcolor": train both kcolor models for a few steps; save each model's weights
  to OUT/<model>_<task index>.npz.
  MODE "plain-keras": a stock Keras fit without kcolor's fixes; write what happened to
  OUT/plain_<task index>.txt ("ok" or the error message).
"""

import json
import os
import sys

import numpy as np


def main(mode, photos, out):
    # The strategy comes first: collective ops must be set up before any other TF op.
    from kcolor import training

    strategy = training.make_strategy("multi-worker")
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    if mode == "plain-keras":
        return plain_keras(strategy, f"{out}/plain_{index}.txt")
    from kcolor.training import config as run_config

    for model, size, model_args in (
        (
            "hypercolumn",
            32,
            {
                "trunk_weights": None,
                "taps": ["block1_conv2"],
                "trunk_widths": [4, 8, 8, 8, 8],
                "head_units": 8,
                "bins": 8,
            },
        ),
        (
            "gan",
            16,
            {
                "generator": {"filters": [8, 6], "kernel_sizes": [3, 3, 3], "noise_channels": 2},
                "critic": {"filters": [4], "kernel_size": 3, "dense_units": 4},
            },
        ),
    ):
        config = run_config.from_dict(
            {
                "model": model,
                "data": [photos],
                "val": [photos],
                "image_size": size,
                "batch_size": 4,
                "epochs": 2,
                "steps_per_epoch": 3,
                "val_steps": 1,
                "model_settings": {"critic_steps": 2} if model == "gan" else {},
                "model_args": model_args,
                "strategy": "multi-worker",
            }
        )
        result = training.train(config, f"{out}/{model}_run", strategy, verbose=0)
        np.savez(f"{out}/{model}_{index}.npz", *result.model.get_weights())


def plain_keras(strategy, report):
    import keras
    import tensorflow as tf

    images = np.random.default_rng(0).random((16, 8, 8, 1), "float32")
    data = tf.data.Dataset.from_tensor_slices((images, images)).batch(4, drop_remainder=True)
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3, padding="same")]
        )
        model.compile(optimizer="sgd", loss="mse")
    try:
        model.fit(data, epochs=1, verbose=0)
        outcome = "ok"
    except Exception as error:  # noqa: BLE001 - the test reads what Keras raised
        outcome = f"{type(error).__name__}: {error}"
    with open(report, "w") as handle:
        handle.write(outcome)


if __name__ == "__main__":
    main(*sys.argv[1:])
