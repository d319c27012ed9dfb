"""precision="int8": TFLite conversions made on first use, cached by model and shape."""

import numpy as np
import pytest

import kcolor
from kcolor import api, cli, inference
from kcolor.deploy import int8, tflite
from tests.conftest import colour_photo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache folder for the test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "kcolor" / "int8"


def _conversions(monkeypatch):
    """Count calls of the converter (still converting)."""
    calls = []
    convert = tflite.convert

    def counting(*args, **kwargs):
        calls.append(args[2])
        return convert(*args, **kwargs)

    monkeypatch.setattr(tflite, "convert", counting)
    return calls


@pytest.mark.parametrize("name", ["hypercolumn", "guided"])
def test_int8_colorizes_like_float32_and_caches_the_conversion(
    tiny_model_files, cache, monkeypatch, name
):
    model = inference.load_model(tiny_model_files[name])
    calls = _conversions(monkeypatch)
    rgb = colour_photo(40, 60, seed=4)
    lite = api.make_colorizer(model, 32, "int8")
    assert isinstance(lite, int8.Int8Colorizer)
    full = inference.Colorizer(model, 32)
    l_norm = lite.model_input(rgb)
    np.testing.assert_array_equal(l_norm, full.model_input(rgb))
    ab_lite = np.asarray(lite.predict_ab(l_norm, seed=3))
    ab_full = np.asarray(full.predict_ab(l_norm, seed=3))
    assert ab_lite.shape == ab_full.shape
    # int8 weights: within a few Lab units of float32 on these untrained models.
    assert np.abs(ab_lite - ab_full).mean() * 110 < 3.0
    height, width = l_norm.shape[1:3]
    files = list(cache.glob("*.tflite"))
    assert [path.name for path in files] == [f"{lite.digest}-{height}x{width}.tflite"]
    assert calls == [(height, width)]
    # A new colorizer of the same model in a later run loads the cached file.
    again = api.make_colorizer(model, 32, "int8")
    np.testing.assert_array_equal(np.asarray(again.predict_ab(l_norm, seed=3)), ab_lite)
    assert len(calls) == 1


def test_changed_weights_get_their_own_conversion(tiny_model_files, cache):
    model = inference.load_model(tiny_model_files["hypercolumn"])
    before = int8.model_digest(model)
    weights = model.get_weights()
    model.set_weights([weight * 1.5 for weight in weights])
    try:
        assert int8.model_digest(model) != before
    finally:
        model.set_weights(weights)
    assert int8.model_digest(model) == before


def test_each_shape_is_converted_once_and_old_shapes_are_evicted(
    tiny_model_files, cache, monkeypatch
):
    monkeypatch.setattr(int8, "CACHED_SHAPES", 2)
    model = inference.load_model(tiny_model_files["hypercolumn"])
    calls = _conversions(monkeypatch)
    lite = int8.Int8Colorizer(model, 32)
    for height, width in ((32, 48), (48, 32), (32, 48), (32, 64)):
        ab = lite.predict_ab(np.zeros((1, height, width, 1), np.float32))
        assert ab.shape == (1, 1, height, width, 2)
    assert calls == [(32, 48), (48, 32), (32, 64)]
    names = sorted(path.name.split("-")[1] for path in cache.glob("*.tflite"))
    assert names == ["32x48.tflite", "32x64.tflite"]  # 48x32 was the least recently used


def test_colorize_and_the_cli_run_int8(tiny_model_files, cache, tmp_path):
    photo = colour_photo(30, 40, seed=6)
    result = kcolor.colorize(photo, tiny_model_files["hypercolumn"], size=32, precision="int8")
    assert result.size == (40, 30)
    source = tmp_path / "in.png"
    result.save(source)
    status = cli.main(
        [
            "colorize",
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--model",
            tiny_model_files["hypercolumn"],
            "--size",
            "32",
            "--precision",
            "int8",
            "--quiet",
        ]
    )
    assert status == 0 and (tmp_path / "out" / "in.png").is_file()


def test_a_tflite_model_file_refuses_a_precision(tmp_path, capsys):
    status = cli.main(
        ["colorize", "x.jpg", "-o", str(tmp_path), "--model", "m.tflite", "--precision", "int8"]
    )
    assert status == 1 and "--precision" in capsys.readouterr().err
