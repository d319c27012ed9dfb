"""TFLite export: the four variants, builtin ops only, run with ai-edge-litert."""

import contextlib
import io
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from conftest import colour_photo, encode
from PIL import Image

from kcolor import cli, inference
from kcolor.deploy import tflite
from kcolor.models import HypercolumnColorizer


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for index in range(6):
        path = folder / f"photo{index}.jpg"
        path.write_bytes(encode(colour_photo(40 + 4 * index, 52, index), "JPEG", quality=95))
        paths.append(str(path))
    return paths


def _op_names(flatbuffer: bytes) -> set[str]:
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        tf.lite.experimental.Analyzer.analyze(model_content=flatbuffer)
    return {line.split()[1].split("(")[0] for line in text.getvalue().splitlines() if "Op#" in line}


@pytest.mark.parametrize("name", ["hypercolumn", "gan"])
def test_all_variants_convert_to_builtins_and_run(tiny_model_files, photos, tmp_path, name):
    model = keras.saving.load_model(tiny_model_files[name])
    report = tflite.export_report(
        model,
        tmp_path,
        input_size=32,
        representative_photos=photos,
        report_photos=photos[:3],
        name=name,
    )
    rows = {row["variant"]: row for row in report["variants"]}
    assert list(rows) == list(tflite.VARIANTS)
    for variant, row in rows.items():
        flatbuffer = Path(row["path"]).read_bytes()
        assert row["bytes"] == len(flatbuffer) and row["latency_ms"] > 0
        ops = _op_names(flatbuffer)
        assert "CONV_2D" in ops
        assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), (variant, ops)
        assert row["photos"] == 3 and np.isfinite(row["psnr_tflite"])
    # float32 is the Keras model; the quantized ones are close to it.
    assert rows["float32"]["ab_rmse"] < 1e-3
    assert rows["float16"]["ab_rmse"] < 0.5

    def tensor_types(variant):
        interpreter = Interpreter(model_path=rows[variant]["path"])
        return {detail["dtype"] for detail in interpreter.get_tensor_details()}

    assert np.float16 in tensor_types("float16") and np.int8 not in tensor_types("float16")
    assert np.int8 in tensor_types("int8")
    if name == "hypercolumn":
        # Dynamic-range quantization leaves weights under 1,024 values in float, and all
        # of the tiny test GAN's are.
        assert np.int8 in tensor_types("dynamic-int8")
    assert np.int8 not in tensor_types("float32")


def test_float32_matches_keras_on_a_resizable_input_at_two_sizes(tiny_model_files, tmp_path):
    model = keras.saving.load_model(tiny_model_files["hypercolumn"])
    path = tflite.export_variants(model, tmp_path, ["float32"], input_size=None)["float32"]
    lite = tflite.LiteColorizer(path, size=32)
    assert lite.fixed_side is None
    keras_colorizer = inference.Colorizer(model, 32)
    for shape in ((40, 40), (32, 80)):
        l_norm = lite.model_input(colour_photo(*shape, 3))
        assert l_norm.shape[1:3] == keras_colorizer.model_input(colour_photo(*shape, 3)).shape[1:3]
        difference = lite.predict_ab(l_norm) - keras_colorizer.predict_ab(l_norm)
        assert float(tf.reduce_max(tf.abs(difference))) * 110 < 1e-3


@pytest.mark.parametrize("name", ["gan", "guided"])
def test_gan_noise_input_gives_different_colourings(tiny_model_files, tmp_path, name):
    model = keras.saving.load_model(tiny_model_files[name])
    path = tflite.export_variants(model, tmp_path, ["float32"], input_size=32)["float32"]
    flatbuffer = Path(path).read_bytes()
    ops = _op_names(flatbuffer)
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
    lite = tflite.LiteColorizer(path)
    assert lite.diverse and lite.noise_channels == 2
    l_norm = lite.model_input(colour_photo(30, 30, 1))
    samples = lite.predict_ab(l_norm, samples=2, seed=1).numpy()
    assert samples.shape == (1, 2, 32, 32, 2)
    assert np.abs(samples[0, 0] - samples[0, 1]).max() > 1e-3
    np.testing.assert_array_equal(samples, lite.predict_ab(l_norm, samples=2, seed=1).numpy())
    # The same colourings as the Keras model (for the guided GAN: both networks inside).
    expected = inference.Colorizer(model, 32).predict_ab(l_norm, samples=2, seed=1).numpy()
    assert np.abs(samples - expected).max() * 110 < 1e-3


def test_a_non_builtin_op_fails_the_conversion_loudly(tmp_path):
    # Sampling the histograms draws with RandomCategorical (Multinomial): a TensorFlow
    # op TFLite has no builtin for, so the builtins-only conversion must refuse it.
    model = HypercolumnColorizer(
        taps=["block1_conv2"], trunk_widths=[4, 8, 8, 8, 8], head_units=4, bins=4, decoding="sample"
    )
    model(np.zeros((1, 32, 32, 1), "float32"))
    with pytest.raises(tflite.ConversionError, match="float32 conversion failed"):
        tflite.convert(model, "float32", 32)


def test_int8_needs_photos_and_outputs_are_not_overwritten(tiny_model_files, tmp_path):
    model = keras.saving.load_model(tiny_model_files["gan"])
    with pytest.raises(tflite.ConversionError, match="representative"):
        tflite.export_variants(model, tmp_path, ["int8"], input_size=16)
    with pytest.raises(tflite.ConversionError, match="unknown variant"):
        tflite.convert(model, "int4", 16)
    tflite.export_variants(model, tmp_path, ["float16"], input_size=16)
    with pytest.raises(FileExistsError, match="colorizer_float16.tflite exists"):
        tflite.export_variants(model, tmp_path, ["float16"], input_size=16)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["colorizer_float16.tflite"]


def test_cli_writes_the_variants_and_the_report(tiny_model_files, photos, tmp_path, capsys):
    status = cli.main(
        [
            "export",
            "--format",
            "tflite",
            "--model",
            tiny_model_files["hypercolumn"],
            "-o",
            str(tmp_path / "lite"),
            "--variants",
            "float32",
            "int8",
            "--input-size",
            "32",
            "--representative",
            *photos,
            "--report-photos",
            photos[0],
            "--report",
            str(tmp_path / "report.json"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "float32" in out and "int8" in out and "ms/image" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert [row["variant"] for row in report["variants"]] == ["float32", "int8"]
    assert report["photos"] == 1 and report["input_size"] == 32
    assert sorted(p.name for p in (tmp_path / "lite").iterdir()) == [
        "colorizer_float32.tflite",
        "colorizer_int8.tflite",
    ]


def test_colorize_and_evaluate_run_a_tflite_model(tiny_model_files, photos, tmp_path, capsys):
    model = keras.saving.load_model(tiny_model_files["gan"])
    path = tflite.export_variants(model, tmp_path, ["float16"], input_size=32)["float16"]
    output = tmp_path / "out"
    status = cli.main(
        [
            "colorize",
            *photos[:2],
            "-o",
            str(output),
            "--model",
            str(path),
            "--samples",
            "2",
            "--seed",
            "3",
            "--batch-size",
            "2",
            "--quiet",
        ]
    )
    assert status == 0
    first, second = (np.asarray(Image.open(output / f"photo0_sample{k}.png")) for k in (1, 2))
    assert first.shape == (40, 52, 3)  # the photo's own size, not the model's 32x32
    assert np.abs(first.astype(int) - second.astype(int)).max() > 0
    status = cli.main(["evaluate", *photos[:2], "--model", str(path), "--quiet"])
    assert status == 0
    assert "psnr" in capsys.readouterr().out.lower()
