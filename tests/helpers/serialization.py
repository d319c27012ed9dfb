"""One round-trip check for every kcolor model: config and ``.keras`` file."""

import json

import keras
import numpy as np


def _plain(config: dict) -> dict:
    """The config as JSON would store it (tuples become lists)."""
    return json.loads(json.dumps(config))


def run_serialization_test(model, call, tmp_path):
    """Check that ``model`` survives ``from_config(get_config())`` and a ``.keras`` round
    trip: the same class, config (dtype policy included) and weights, and the same
    outputs of ``call(model)``."""
    config = model.get_config()
    assert "dtype" in config, f"{type(model).__name__}.get_config() drops the dtype policy"
    rebuilt = type(model).from_config(_plain(config))
    assert type(rebuilt) is type(model)
    assert _plain(rebuilt.get_config()) == _plain(config)
    assert rebuilt.dtype_policy.name == model.dtype_policy.name

    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert _plain(loaded.get_config()) == _plain(config)
    assert len(loaded.weights) == len(model.weights)
    for saved, restored in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(restored), err_msg=saved.path)
    np.testing.assert_allclose(
        np.asarray(call(loaded), "float32"), np.asarray(call(model), "float32"), atol=1e-6
    )
