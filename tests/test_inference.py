import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import colour_photo
from PIL import Image, ImageOps

import kcolor
from kcolor import color, inference


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pil(tmp_path, orientation):
    photo = Image.fromarray(colour_photo(20, 30, seed=orientation))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.png"
    photo.save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    np.testing.assert_array_equal(inference.read_image(path), expected)


def test_reads_every_kind_of_input(tmp_path):
    photo = colour_photo(12, 9, seed=1)
    cmyk = io.BytesIO()
    Image.fromarray(photo).convert("CMYK").save(cmyk, "JPEG")
    (tmp_path / "cmyk.jpg").write_bytes(cmyk.getvalue())
    assert inference.read_image(tmp_path / "cmyk.jpg").shape == (12, 9, 3)
    gray16 = Image.fromarray((np.arange(12 * 9).reshape(12, 9) * 600).astype(np.uint16))
    gray16.save(tmp_path / "gray16.png")
    read = inference.read_image(tmp_path / "gray16.png")
    np.testing.assert_allclose(read[..., 0], np.asarray(gray16) / 257, atol=0.51)
    assert inference.read_image(Image.fromarray(photo).convert("P")).shape == (12, 9, 3)
    assert inference.read_image(photo[..., 0]).shape == (12, 9, 3)
    np.testing.assert_array_equal(inference.read_image(photo / 255.0), photo)
    rgba = np.concatenate([photo, np.full((12, 9, 1), 9, np.uint8)], -1)
    np.testing.assert_array_equal(inference.read_image(rgba), photo)
    with pytest.raises(inference.ImageReadError, match="not an image"):
        inference.read_image(np.zeros((4, 4, 2)))
    (tmp_path / "notes.jpg").write_text("not pixels")
    with pytest.raises(inference.ImageReadError, match="notes.jpg: not a JPEG"):
        inference.read_image(tmp_path / "notes.jpg")
    with pytest.raises(inference.ImageReadError, match="missing.png: cannot be read"):
        inference.read_image(tmp_path / "missing.png")


def _shape(height, width, size, multiple):
    return tuple(int(side) for side in inference.processing_shape(height, width, size, multiple))


def test_processing_shape_keeps_aspect_and_the_models_multiple():
    assert _shape(4000, 6000, 256, 16) == (256, 384)
    assert _shape(321, 481, 256, 1) == (256, 384)
    assert _shape(1, 1, 256, 16) == (256, 256)
    assert _shape(100, 350, 64, 16) == (64, 224)
    # Beyond MAX_ASPECT (4) the long side is squeezed.
    assert _shape(100, 1000, 64, 16) == (64, 256)


def test_processing_shape_in_a_graph_equals_the_eager_result():
    traced = tf.function(
        lambda height, width: inference.processing_shape(height, width, 256, 16),
        input_signature=[tf.TensorSpec([], tf.int32)] * 2,
    )
    for height, width in ((4000, 6000), (321, 481), (17, 999), (256, 384), (1, 1)):
        assert tuple(traced(height, width).numpy()) == _shape(height, width, 256, 16)


def test_compose_keeps_the_full_resolution_lightness():
    photo = colour_photo(37, 1200, seed=2)
    photo[::2, ::3] = 255 - photo[::2, ::3]  # fine detail the processing size cannot hold
    ab_norm = np.full((4, 100, 2), 4.0 / color.AB_SCALE, np.float32)
    result = inference.compose(photo, ab_norm)
    assert result.shape == photo.shape
    lightness = color.rgb_to_lab(photo).numpy()[..., 0]
    result_lab = color.rgb_to_lab(result).numpy()
    assert np.abs(result_lab[..., 0] - lightness).mean() < 0.5
    np.testing.assert_allclose(np.median(result_lab[..., 1:], axis=(0, 1)), [4.0, 4.0], atol=1.0)


@pytest.mark.parametrize("name", ["gan", "generator", "hypercolumn"])
def test_colorize_returns_the_input_size_for_every_model(tiny_model_files, name):
    photo = Image.fromarray(colour_photo(45, 70, seed=3))
    result = kcolor.colorize(photo, tiny_model_files[name], size=32, seed=1)
    assert isinstance(result, Image.Image) and result.size == photo.size and result.mode == "RGB"


def test_gan_gives_several_different_samples(tiny_model_files):
    photo = colour_photo(30, 40, seed=4)
    first, second = kcolor.colorize(photo, tiny_model_files["gan"], size=32, samples=2, seed=5)
    assert first.size == second.size == (40, 30)
    assert np.abs(np.asarray(first, float) - np.asarray(second, float)).mean() > 0
    again = kcolor.colorize(photo, tiny_model_files["gan"], size=32, samples=2, seed=5)
    np.testing.assert_array_equal(np.asarray(again[0]), np.asarray(first))


def test_clear_errors_for_missing_weights_and_unsupported_requests(tiny_model_files):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kcolor.load_model("nowhere.keras")
    with pytest.raises(ValueError, match="needs a GAN"):
        kcolor.colorize(colour_photo(8, 8, 0), tiny_model_files["hypercolumn"], samples=2)


def test_models_are_loaded_once_per_process(tiny_model_files, tmp_path):
    assert inference.load_model("gan") is inference.load_model("gan")
    first = inference.load_model(tiny_model_files["hypercolumn"])
    assert inference.load_model(tiny_model_files["hypercolumn"]) is first
    # A file written again is loaded again.
    copy = tmp_path / "copy.keras"
    with open(tiny_model_files["gan"], "rb") as original:
        copy.write_bytes(original.read())
    loaded = inference.load_model(copy)
    os.utime(copy, ns=(1, 1))
    assert inference.load_model(copy) is not loaded


def test_colorize_in_a_loop_keeps_memory_flat(tmp_path):
    # In a fresh process, so that what other tests loaded does not count: 300 calls on
    # photos of 300 different sizes, as a notebook or a web page makes them.
    script = Path(__file__).parent.parent / "scripts" / "colorize_memory.py"
    report = tmp_path / "memory.json"
    result = subprocess.run(
        [sys.executable, str(script), "--calls", "300", "--size", "96", "--json", str(report)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(report.read_text())
    after_hundred, _, after_all = figures["resident_mb_every_100_calls"]
    # The photo sizes fall into a few processing shapes (TensorFlow's kernels cost a few
    # MB per new shape; one shape per photo size grew memory by megabytes with each size).
    assert figures["photo_sizes"] > 250 and figures["shapes"] <= 40, figures
    # Then memory levels off: calls 101-300 added 6-31 MB in repeated runs (the memory
    # allocator grows in steps of up to 20 MB at unforeseeable moments), where reloading
    # the bundled model on each call grew it by about 45 MB a call.
    assert after_all - after_hundred < 60, figures


@pytest.mark.parametrize(
    "small, full", [((64, 96), (1000, 1500)), ((17, 33), (321, 481)), ((256, 1024), (3, 500))]
)
def test_strips_of_the_upsampled_colour_equal_the_whole_resize(small, full):
    ab_norm = np.random.default_rng(0).standard_normal((*small, 2)).astype(np.float32)
    whole = tf.image.resize(ab_norm[None], full).numpy()[0]
    strips = [
        inference.upsample_rows(ab_norm, *full, top, min(top + 97, full[0]))
        for top in range(0, full[0], 97)
    ]
    np.testing.assert_array_equal(np.concatenate(strips), whole)
