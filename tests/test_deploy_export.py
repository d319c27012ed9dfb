"""SavedModel export: TF Serving's layout, the signatures, parity with kcolor colorize."""

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from conftest import colour_photo, encode
from PIL import Image
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry
from tensorflow_serving.apis import prediction_log_pb2

import kcolor
from kcolor.deploy import export


def _png(array):
    return encode(array, "PNG")


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def assert_same_image(result, reference):
    """Equal up to rounding: the graph and eager kernels may round a float that lies
    next to a half level differently, so a rare pixel may differ by one 8-bit level."""
    assert result.shape == reference.shape
    difference = np.abs(result.astype(int) - reference.astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3


# The tiny untrained test models have nearly flat colour histograms, whose decoding
# amplifies float rounding: their colorize path run as a graph differs from the same path
# run eagerly by up to ~3.5e-3 Lab units (measured in a full suite run). The trained
# models are held to 1e-4 and 2e-4 (below).
TINY_MODEL_TOLERANCE = 5e-3


def _serve(folder, images, seeds=None, signature="serving_default"):
    function = tf.saved_model.load(str(folder)).signatures[signature]
    inputs = {"image_bytes": tf.constant(images)}
    if seeds is not None:
        inputs["seed"] = tf.constant(seeds, tf.int64)
    return [_decode(png) for png in function(**inputs)["colorized_png_bytes"].numpy()]


def test_layout_versions_and_metadata(exported):
    model, folder = exported["hypercolumn"]
    assert folder == exported["base"] / "hypercolumn" / "1"
    assert (folder / "saved_model.pb").is_file()
    assert (folder / "variables" / "variables.index").is_file()
    info = json.loads((folder / "assets.extra" / "export_info.json").read_text())
    assert info["processing_size"] == 32 and info["model"] == "HypercolumnColorizer"
    assert info["signatures"]["serving_default"]["outputs"] == ["colorized_png_bytes", "error"]
    assert info["max_pixels"] == 120_000_000
    assert info["tensorflow"] == tf.__version__

    second = export.export_savedmodel(model, exported["base"], "hypercolumn", size=32)
    assert second.name == "2"
    with pytest.raises(export.ExportError, match="exists"):
        export.export_savedmodel(model, exported["base"], "hypercolumn", version=2)
    again = export.export_savedmodel(
        model, exported["base"], "hypercolumn", version=2, size=32, overwrite=True
    )
    assert again == second
    # Nothing half-written is left beside the versions for a server to trip on.
    entries = sorted(path.name for path in (exported["base"] / "hypercolumn").iterdir())
    assert entries == ["1", "2"]


def test_a_bad_or_oversized_photo_fails_alone_in_a_request(exported):
    from test_hostile_inputs import png_declaring

    model, folder = exported["gan"]
    photo = colour_photo(30, 40, 5)
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    strip = colour_photo(3, 500, 6)
    images = [_png(photo), b"not an image", png_declaring(23000, 23000), _png(photo)[:200]]
    images.append(_png(strip))
    result = serve(image_bytes=tf.constant(images), seed=tf.constant([1] * 5, tf.int64))
    pngs, errors = result["colorized_png_bytes"].numpy(), result["error"].numpy()
    assert errors[0] == b"" and _decode(pngs[0]).shape == (30, 40, 3)
    # A 3x500 strip is processed at a bounded size and returned at its own.
    assert errors[4] == b"" and _decode(pngs[4]).shape == (3, 500, 3)
    assert pngs[1] == pngs[2] == pngs[3] == b""
    assert errors[1] == b"not a JPEG, PNG, GIF, BMP or WebP image"
    assert errors[2] == b"23000x23000 pixels is over the limit of 120000000 pixels"
    assert errors[3] == b"truncated or corrupt PNG data"


def test_signature_names_shapes_and_dtypes(exported):
    for name, extra in (("hypercolumn", set()), ("gan", {"seed"})):
        signatures = tf.saved_model.load(str(exported[name][1])).signatures
        assert set(signatures) == {"serving_default", "colorize_rgb", "colorize_lightness"}
        default = signatures["serving_default"]
        inputs = default.structured_input_signature[1]
        assert set(inputs) == {"image_bytes"} | extra
        assert inputs["image_bytes"].dtype == tf.string and inputs["image_bytes"].shape == [None]
        assert set(default.structured_outputs) == {"colorized_png_bytes", "error"}
        rgb = signatures["colorize_rgb"].structured_input_signature[1]["rgb"]
        assert rgb.shape.as_list() == [None, None, None, 3]
        assert set(signatures["colorize_lightness"].structured_outputs) == {"ab", "rgb"}


def test_png_output_equals_kcolor_colorize_for_photos_of_different_sizes(exported, tmp_path):
    model, folder = exported["hypercolumn"]
    photos = [colour_photo(40, 56, 1), colour_photo(70, 30, 2)]
    gray = np.asarray(Image.fromarray(photos[0]).convert("L"))
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(encode(photos[1], "JPEG", quality=90))
    served = _serve(folder, [_png(photos[0]), jpeg.read_bytes(), _png(gray)])
    expected = [
        np.asarray(kcolor.colorize(photos[0], model, size=32, precision="float32")),
        np.asarray(kcolor.colorize(jpeg, model, size=32, precision="float32")),
        np.asarray(kcolor.colorize(gray, model, size=32, precision="float32")),
    ]
    for result, reference in zip(served, expected, strict=True):
        assert_same_image(result, reference)


def test_gan_seed_gives_kcolor_colorize_seeded_colourings(exported):
    model, folder = exported["gan"]
    photo = colour_photo(36, 48, 3)
    served = _serve(folder, [_png(photo)] * 3, seeds=[7, 7, 8])
    np.testing.assert_array_equal(served[0], served[1])
    assert np.abs(served[0].astype(int) - served[2].astype(int)).max() > 0
    for result, seed in ((served[0], 7), (served[2], 8)):
        np.testing.assert_array_equal(
            result,
            np.asarray(kcolor.colorize(photo, model, size=32, seed=seed, precision="float32")),
        )


@pytest.mark.parametrize("name", ["hypercolumn", "gan", "guided"])
def test_float_signatures_match_the_keras_model_at_two_sizes(exported, name):
    model, folder = exported[name]
    signatures = tf.saved_model.load(str(folder)).signatures
    seed = {"seed": tf.constant([4], tf.int64)} if name != "hypercolumn" else {}
    for height, width in ((40, 40), (37, 90)):
        rgb = colour_photo(height, width, height)
        served = signatures["colorize_rgb"](rgb=tf.constant(rgb[None] / 255.0, tf.float32), **seed)
        assert served["ab"].shape == (1, height, width, 2)
        expected = export.keras_ab(model, rgb, 32, seed=4)
        assert float(tf.reduce_max(tf.abs(served["ab"][0] - expected))) <= TINY_MODEL_TOLERANCE
        assert_same_image(
            np.round(served["rgb"][0].numpy() * 255).astype(np.uint8),
            np.asarray(kcolor.colorize(rgb, model, size=32, seed=4, precision="float32")),
        )
    # A gray photo through the lightness signature colours as through the RGB one.
    gray = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, -1)
    lightness = kcolor.color.rgb_to_lab(gray)[..., :1][None]
    by_lightness = signatures["colorize_lightness"](lightness=lightness, **seed)["ab"]
    by_rgb = signatures["colorize_rgb"](rgb=tf.constant(gray[None] / 255.0, tf.float32), **seed)
    assert float(tf.reduce_max(tf.abs(by_lightness - by_rgb["ab"]))) <= TINY_MODEL_TOLERANCE


def test_the_graph_holds_only_registered_tensorflow_ops(exported):
    for name in ("hypercolumn", "gan", "guided"):
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((exported[name][1] / "saved_model.pb").read_bytes())
        graph = proto.meta_graphs[0].graph_def
        ops = {node.op for node in graph.node}
        ops |= {node.op for function in graph.library.function for node in function.node_def}
        assert "DecodePng" in ops or "DecodeImage" in ops
        assert not ops & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}
        assert all(op_def_registry.get(op) is not None for op in ops), sorted(ops)


def test_loads_and_runs_in_a_process_that_never_imports_kcolor(exported, tmp_path):
    folder = exported["gan"][1]
    (tmp_path / "photo.png").write_bytes(_png(colour_photo(30, 44, 5)))
    script = textwrap.dedent(
        f"""
        import sys
        import tensorflow as tf
        model = tf.saved_model.load({str(folder)!r})
        png = open({str(tmp_path / "photo.png")!r}, "rb").read()
        out = model.signatures["serving_default"](
            image_bytes=tf.constant([png]), seed=tf.constant([3], tf.int64))
        image = tf.io.decode_png(out["colorized_png_bytes"][0])
        assert not any(name.split(".")[0] == "kcolor" for name in sys.modules)
        print(tuple(image.shape))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(30, 44, 3)")


def test_saved_model_cli_runs_the_bytes_and_float_signatures(exported, tmp_path):
    """The graph/session loader TF Serving uses (the shipped models' exports are checked
    against Keras below)."""
    model, folder = exported["hypercolumn"]
    photo = colour_photo(97, 130, 6)
    np.save(tmp_path / "images.npy", np.array([_png(photo)], dtype=object))
    np.save(tmp_path / "rgb.npy", (photo[None] / 255.0).astype(np.float32))
    # (The signatures' names, shapes and types are checked above, in this process.)
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    for signature, inputs in (
        ("serving_default", "image_bytes=images.npy"),
        ("colorize_rgb", "rgb=rgb.npy"),
    ):
        run = subprocess.run(
            [
                *cli,
                "run",
                "--dir",
                str(folder),
                "--tag_set",
                "serve",
                "--signature_def",
                signature,
                "--inputs",
                inputs,
                "--outdir",
                f"out_{signature}",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
    png = np.load(tmp_path / "out_serving_default" / "colorized_png_bytes.npy", allow_pickle=True)
    assert_same_image(
        _decode(png[0]), np.asarray(kcolor.colorize(photo, model, size=32, precision="float32"))
    )
    ab = np.load(tmp_path / "out_colorize_rgb" / "ab.npy")
    assert np.abs(ab[0] - export.keras_ab(model, photo, 32).numpy()).max() <= 1e-4


def test_warmup_requests_replay_through_the_model(exported):
    for name in ("hypercolumn", "gan"):
        folder = exported[name][1]
        signature = tf.saved_model.load(str(folder)).signatures["serving_default"]
        records = list(tf.data.TFRecordDataset(str(folder / "assets.extra" / export.WARMUP_FILE)))
        assert 1 <= len(records) <= 1000
        sizes = set()
        for record in records:
            log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
            request = log.predict_log.request
            assert request.model_spec.name == name
            assert request.model_spec.signature_name == "serving_default"
            inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
            assert set(inputs) == set(signature.structured_input_signature[1])
            png = signature(**{k: tf.constant(v) for k, v in inputs.items()})
            sizes.add(_decode(png["colorized_png_bytes"].numpy()[0]).shape)
        assert len(sizes) == len(records)  # one request per typical size


@pytest.fixture(scope="session")
def bundled_exports(tmp_path_factory):
    """Both shipped models exported by ``kcolor export`` (default size 256), with the
    warmup photo given on the command line: {name: (model, version folder)}."""
    from kcolor import cli

    base = tmp_path_factory.mktemp("bundled")
    warmup = base / "warm.jpg"
    warmup.write_bytes(encode(colour_photo(60, 90, 8), "JPEG"))
    result = {}
    for name in ("hypercolumn", "gan"):
        status = cli.main(
            [
                "export",
                "--model",
                name,
                "--name",
                name,
                "-o",
                str(base / "models"),
                "--warmup",
                str(warmup),
            ]
        )
        assert status == 0
        result[name] = (kcolor.load_model(name), base / "models" / name / "1")
    return result


# The long form of the parity checks above (made on small models), on the full-size
# shipped models.
@pytest.mark.large
@pytest.mark.parametrize("name", ["hypercolumn", "gan"])
def test_exported_bundled_models_match_keras_within_1e_4(bundled_exports, name):
    model, folder = bundled_exports[name]
    info = json.loads((folder / "assets.extra" / "export_info.json").read_text())
    assert info["processing_size"] == 256 and info["source"] == name
    records = list(tf.data.TFRecordDataset(str(folder / "assets.extra" / export.WARMUP_FILE)))
    assert len(records) == 1
    # The real architectures with dynamic height and width, at two more sizes.
    for shape, seed in (((150, 420), 0), ((333, 200), 9)):
        photo = colour_photo(*shape, seed + 1)
        # The guided GAN runs the hypercolumn network and the generator in series, so the
        # graph's float rounding in the first reaches the second (1.2e-4 measured at
        # 333x200): it is held to 2e-4 Lab units, the hypercolumn model to 1e-4.
        limit = 1e-4 if name == "hypercolumn" else 2e-4
        assert export.verify_savedmodel(folder, model, 256, photo, seed) <= limit


def test_cli_reports_the_parity_and_refuses_to_overwrite(tiny_model_files, capsys, tmp_path):
    from kcolor import cli

    base = tmp_path / "models"
    export_gan = ["export", "--model", tiny_model_files["gan"], "--name", "gan", "-o", str(base)]
    for version in (1, 2):  # each export without --version takes the next one
        assert cli.main(export_gan) == 0
        assert "differs from the Keras model's by at most" in capsys.readouterr().out
        assert (base / "gan" / str(version)).is_dir()
    status = cli.main([*export_gan, "--version", "1"])
    assert status == 1
    assert "exists" in capsys.readouterr().err
