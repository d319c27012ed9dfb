"""Choosing the precision for the machine, and colorizing in bfloat16."""

import keras
import numpy as np
import pytest

import kcolor
from kcolor import api, inference, precision
from tests.conftest import colour_photo


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {' '.join(flags)}\n\n")
    return str(path)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    flags = precision.cpu_flags(_cpuinfo(tmp_path, ["sse2", "avx512f", "avx512_bf16"]))
    assert flags == {"sse2", "avx512f", "avx512_bf16"}
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["avx2", "avx512f"], "float32"),
        (["avx512f", "avx512_bf16"], "bfloat16"),
        (["amx_tile", "amx_bf16"], "bfloat16"),
        ([], "float32"),
    ],
)
def test_auto_takes_bfloat16_only_where_the_cpu_computes_it(monkeypatch, flags, expected):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    precision.native_bfloat16.cache_clear()
    try:
        assert precision.resolve("auto") == expected
    finally:
        precision.native_bfloat16.cache_clear()
    assert precision.resolve("int8") == "int8"


def test_auto_keeps_float32_for_models_bfloat16_slows_down(monkeypatch):
    from kcolor.models import HypercolumnColorizer

    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(["avx512f", "avx512_bf16"]))
    precision.native_bfloat16.cache_clear()
    try:
        tiny = {"head_units": 8, "bins": 8}
        mobilenet = HypercolumnColorizer(trunk="mobilenet", trunk_alpha=0.25, **tiny)
        vgg = HypercolumnColorizer(trunk_widths=[4, 8, 8, 8, 8], **tiny)
        assert not mobilenet.bfloat16_is_faster and vgg.bfloat16_is_faster
        assert inference.Colorizer(mobilenet, 32, "auto").precision == "float32"
        assert inference.Colorizer(vgg, 32, "auto").precision == "bfloat16"
        assert inference.Colorizer(mobilenet, 32, "bfloat16").precision == "bfloat16"
    finally:
        precision.native_bfloat16.cache_clear()


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="float16"):
        precision.resolve("float16")
    with pytest.raises(ValueError, match="precision"):
        api.make_colorizer(object(), 256, "half")


def test_bfloat16_copy_keeps_weights_and_restores_the_global_policy(tiny_model_files):
    model = inference.load_model(tiny_model_files["hypercolumn"])
    copy = precision.in_bfloat16(model)
    assert keras.config.dtype_policy().name == "float32"
    assert copy is not model and copy.trunk.layers[1].dtype_policy.name == "mixed_bfloat16"
    for ours, theirs in zip(copy.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # Asked again: the same copy, with the model's weights as they are now.
    changed = [weight + 1.0 for weight in model.get_weights()]
    model.set_weights(changed)
    try:
        again = precision.in_bfloat16(model)
        assert again is copy
        np.testing.assert_array_equal(again.get_weights()[0], changed[0])
    finally:
        model.set_weights([weight - 1.0 for weight in changed])


@pytest.mark.parametrize("name", ["hypercolumn", "guided"])
def test_bfloat16_colorizes_close_to_float32(tiny_model_files, name):
    model = inference.load_model(tiny_model_files[name])
    rgb = colour_photo(40, 56, seed=3)
    full = inference.Colorizer(model, 32, "float32")
    half = inference.Colorizer(model, 32, "bfloat16")
    assert half.network is not full.network
    l_norm = full.model_input(rgb)
    ab_full = np.asarray(full.predict_ab(l_norm, seed=1))
    ab_half = np.asarray(half.predict_ab(l_norm, seed=1))
    assert ab_half.dtype == np.float32 and ab_half.shape == ab_full.shape
    # bfloat16 keeps 8 bits of mantissa: a few Lab units at most on these untrained models.
    assert np.abs(ab_half - ab_full).mean() * 110 < 2.0


def test_colorize_takes_a_precision(tiny_model_files):
    photo = colour_photo(30, 44, seed=2)
    full, half = (
        np.asarray(kcolor.colorize(photo, tiny_model_files["hypercolumn"], size=32, precision=p))
        for p in ("float32", "bfloat16")
    )
    assert full.shape == half.shape == photo.shape
    assert np.abs(full.astype(int) - half.astype(int)).mean() < 3


def test_a_model_saved_in_mixed_precision_runs_in_the_precision_asked_for(tmp_path, monkeypatch):
    """A run's model.keras keeps its training policy (mixed bfloat16); float32 and int8
    colorizers compute from a float32 copy of it (int8 conversion needs float32 ops)."""
    from kcolor.models import HypercolumnColorizer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = HypercolumnColorizer(
        trunk="mobilenet_v2", trunk_alpha=0.35, head_units=8, bins=8, dtype="mixed_bfloat16"
    )
    model(np.zeros((1, 32, 32, 1), "float32"))
    colorizer = inference.Colorizer(model, 32, "float32")
    assert colorizer.network.compute_dtype == "float32" and model.compute_dtype == "bfloat16"
    l_norm = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    ab = np.asarray(colorizer.predict_ab(l_norm))
    assert ab.dtype == np.float32 and ab.shape == (1, 1, 32, 32, 2)
    int8 = api.make_colorizer(model, 32, "int8")
    assert np.asarray(int8.predict_ab(l_norm)).shape == (1, 1, 32, 32, 2)
