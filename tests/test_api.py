"""kcolor.api: load_model and make_colorizer, which the command line and the web page share."""

import pytest

from kcolor import api, inference
from kcolor.errors import ConfigError


def test_a_model_file_opens_as_a_colorizer_of_the_given_precision(tiny_model_files):
    colorizer = api.make_colorizer(tiny_model_files["gan"], size=32, precision="float32")
    assert isinstance(colorizer, inference.Colorizer) and colorizer.diverse
    single = api.make_colorizer(tiny_model_files["hypercolumn"], size=32, precision="float32")
    assert not single.diverse


def test_a_tflite_file_takes_no_precision_and_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not apply to a .tflite model"):
        api.make_colorizer(str(tmp_path / "model.tflite"), precision="int8")
    with pytest.raises(FileNotFoundError, match="model.tflite"):
        api.make_colorizer(str(tmp_path / "model.tflite"))


def test_load_model_and_make_colorizer_take_a_tflite_file(tiny_model_files, tmp_path):
    import numpy as np

    import kcolor
    from kcolor.deploy import tflite

    keras_model = kcolor.load_model(tiny_model_files["gan"])
    path = tflite.export_variants(keras_model, tmp_path, ["float32"], input_size=None)["float32"]
    loaded = kcolor.load_model(str(path))
    assert isinstance(loaded, tflite.TFLiteModel) and loaded.diverse
    colorizer = kcolor.make_colorizer(loaded, size=32)
    assert isinstance(colorizer, inference.BaseColorizer)
    rgb = np.full((24, 40, 3), 128, np.uint8)
    l_norm = colorizer.model_input(rgb)
    lite_ab = colorizer.predict_ab(l_norm, samples=2, seed=3)
    keras_ab = kcolor.make_colorizer(keras_model, 32, "float32").predict_ab(l_norm, 2, 3)
    np.testing.assert_allclose(lite_ab, keras_ab, atol=1e-3)
    with pytest.raises(ConfigError, match="samples above 1 needs a GAN"):
        kcolor.make_colorizer(tiny_model_files["hypercolumn"], 32, "float32").predict_ab(l_norm, 2)


def test_open_colorizer_is_a_deprecated_alias(tiny_model_files):
    with pytest.warns(DeprecationWarning, match="use make_colorizer"):
        colorizer = api.open_colorizer(tiny_model_files["gan"], size=32, precision="float32")
    assert colorizer.diverse
