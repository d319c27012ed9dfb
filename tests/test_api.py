"""kcolor.api: the colorizer opener the command line and the web page share."""

import pytest

from kcolor import api, inference
from kcolor.errors import ConfigError


def test_a_model_file_opens_as_a_colorizer_of_the_given_precision(tiny_model_files):
    colorizer = api.open_colorizer(tiny_model_files["gan"], size=32, precision="float32")
    assert isinstance(colorizer, inference.Colorizer) and colorizer.diverse
    single = api.open_colorizer(tiny_model_files["hypercolumn"], size=32, precision="float32")
    assert not single.diverse


def test_a_tflite_file_takes_no_precision_and_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not apply to a .tflite model"):
        api.open_colorizer(str(tmp_path / "model.tflite"), precision="int8")
    with pytest.raises(FileNotFoundError, match="model.tflite"):
        api.open_colorizer(str(tmp_path / "model.tflite"))
