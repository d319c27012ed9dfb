"""One call that checks what every kcolor model must do (as keras-hub's backbone tests):
config and ``.keras`` round trip, eager and graph calls, ``fit`` on arrays and on
``tf.data``, bfloat16, and export as a SavedModel that colorizes as the Keras model does."""

import keras
import numpy as np
import tensorflow as tf
from helpers.serialization import run_serialization_test

from kcolor.deploy import export

RNG = np.random.default_rng(0)


def training_arrays(count=4, side=16):
    """``(l_norm, ab_norm)``: float32 (count, side, side, 1) in [-1, 1] and
    (count, side, side, 2) in [-0.3, 0.3], smooth enough to learn from."""
    rows = np.linspace(-1, 1, side, dtype="float32")
    l_norm = np.broadcast_to(rows[None, :, None, None], (count, side, side, 1)).copy()
    l_norm += RNG.uniform(-0.1, 0.1, l_norm.shape).astype("float32")
    ab_norm = np.concatenate([0.3 * np.tanh(l_norm), -0.2 * l_norm], axis=-1).astype("float32")
    return np.clip(l_norm, -1, 1), ab_norm


def _weights_changed(before, model) -> bool:
    return any(
        not np.array_equal(old, np.asarray(new))
        for old, new in zip(before, model.trainable_weights, strict=True)
    )


def _check_fit(model, inputs):
    """One epoch on ``inputs`` (arrays or a dataset) trains: finite losses, weights moved."""
    before = [np.asarray(weight).copy() for weight in model.trainable_weights]
    if isinstance(inputs, tf.data.Dataset):
        history = model.fit(inputs, epochs=1, verbose=0, shuffle=False)
    else:
        history = model.fit(*inputs, batch_size=2, epochs=1, verbose=0)
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), f"{name} is not finite: {values}"
    assert _weights_changed(before, model), "fit changed no weight"


def run_model_test(
    make_model, tmp_path, side=16, export_size=32, export_tolerance=export.PARITY_TOLERANCE
):
    """Check a kcolor model end to end.

    Args:
        make_model: ``make_model(dtype)`` -> a fresh, compiled model in that dtype
            policy ("float32" or "mixed_bfloat16").
        side: training crop side (a multiple of the model's ``input_multiple``).
        export_size: processing size of the SavedModel check.
        export_tolerance: largest ab difference (Lab units) between the SavedModel and
            the Keras model.
    """
    l_norm, ab_norm = training_arrays(side=side)
    model = make_model("float32")
    noise = RNG.uniform(-1, 1, (1, model.noise_channels)).astype("float32")
    noise = noise if model.diverse else None

    def call(m):
        return m.predict_ab(l_norm[:1], noise)

    eager = np.asarray(call(model))
    assert eager.shape == (1, side, side, 2) and np.all(np.isfinite(eager))
    graph = tf.function(lambda inputs: model.predict_ab(inputs, noise))(l_norm[:1])
    np.testing.assert_allclose(np.asarray(graph), eager, atol=1e-5)

    _check_fit(model, (l_norm, ab_norm))
    _check_fit(model, tf.data.Dataset.from_tensor_slices((l_norm, ab_norm)).batch(2))
    run_serialization_test(model, call, tmp_path)

    previous = keras.mixed_precision.global_policy()
    try:
        half = make_model("mixed_bfloat16")
        assert half.colorizing_network().compute_dtype == "bfloat16"
        assert np.all(np.isfinite(np.asarray(call(half), "float32")))
        _check_fit(half, (l_norm, ab_norm))
    finally:
        keras.mixed_precision.set_global_policy(previous)

    folder = export.export_savedmodel(model, tmp_path / "served", size=export_size)
    difference = export.verify_savedmodel(folder, model, export_size)
    assert difference <= export_tolerance, f"the SavedModel's ab is off by {difference}"
