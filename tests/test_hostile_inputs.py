"""Inputs that could take the machine down: extreme shapes and decompression bombs."""

import struct
import zlib

import pytest
import tensorflow as tf
from conftest import colour_photo, encode
from helpers.command import run_kcolor
from PIL import Image

import kcolor
from kcolor import inference
from kcolor.data import decoding
from kcolor.limits import MAX_ASPECT


def png_declaring(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header declares ``width`` x ``height`` pixels
    (its data holds only a few rows: a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 4096), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("shape", [(3, 500), (500, 3), (1, 2000), (300, 301)])
def test_extreme_aspect_ratios_keep_a_bounded_processing_size(shape):
    processing = inference.processing_shape(*shape, 256, 16).numpy()
    assert processing.max() <= MAX_ASPECT * 256 and processing.min() >= 16
    if max(shape) / min(shape) < MAX_ASPECT:  # ordinary photos keep their aspect
        assert abs(processing[1] / processing[0] - shape[1] / shape[0]) < 0.1


def test_a_strip_photo_is_colorized_at_its_own_size(tiny_model_files):
    result = kcolor.colorize(colour_photo(3, 500, 1), tiny_model_files["hypercolumn"], size=32)
    assert result.size == (500, 3)


@pytest.mark.parametrize(
    "fmt, options",
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("GIF", {}),
        ("BMP", {}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_declared_shape_is_read_from_the_header_eagerly_and_in_graphs(fmt, options):
    encoded = encode(colour_photo(21, 34, 0), fmt, **options)
    assert decoding.declared_shape(encoded).numpy().tolist() == [21, 34]
    traced = tf.function(decoding.declared_shape, input_signature=[tf.TensorSpec([], tf.string)])
    assert traced(encoded).numpy().tolist() == [21, 34]
    assert traced(png_declaring(23000, 23000)).numpy().tolist() == [23000, 23000]


@pytest.mark.parametrize("data", [b"", b"hello", b"RIFF", b"\xff\xd8\xff broken", b"\x89PNG"])
def test_unreadable_headers_are_unknown_not_errors(data):
    assert decoding.declared_shape(data).numpy().tolist() in ([-1, -1], [0, 0])


def test_a_bomb_is_refused_from_its_header_with_its_size(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(23000, 23000))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(inference.ImageTooLarge, match=r"bomb.png: 23000x23000 pixels is over"):
        inference.read_image(bomb)
    with pytest.raises(inference.ImageTooLarge, match="over the limit of 1,000 pixels"):
        inference.read_image(colour_photo(40, 40, 0), max_pixels=1000)
    # Raising the limit lets the header pass; the truncated data is then reported as such.
    small_bomb = png_declaring(300, 300)
    with pytest.raises(inference.ImageReadError, match="small.png: truncated or corrupt PNG"):
        inference.decode_photo("small.png", small_bomb, max_pixels=None)


def test_a_batch_with_a_bomb_and_a_strip_finishes_the_rest(tiny_model_files, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a_bomb.png").write_bytes(png_declaring(23000, 23000))
    Image.fromarray(colour_photo(3, 500, 1)).save(photos / "b_strip.png")
    Image.fromarray(colour_photo(40, 50, 2)).save(photos / "c_photo.png")
    result = run_kcolor(
        "colorize",
        photos,
        "-o",
        tmp_path / "out",
        *("--model", tiny_model_files["hypercolumn"], "--size", "32", "--quiet"),
    )
    assert result.returncode == 1
    assert "a_bomb.png: 23000x23000 pixels is over the limit of 120,000,000" in result.stderr
    with Image.open(tmp_path / "out" / "b_strip.png") as strip:
        assert strip.size == (500, 3)
    assert (tmp_path / "out" / "c_photo.png").is_file()
    assert "wrote 2 file(s)" in result.stdout and "1 failed" in result.stdout


@pytest.fixture
def bad_model_files(tmp_path, tiny_model_files):
    """A Keras model that is not kcolor's, a junk .tflite and truncated weights."""
    import keras

    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    plain.save(tmp_path / "plain.keras")
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer" * 20)
    model = keras.saving.load_model(tiny_model_files["hypercolumn"])
    model.save_weights(tmp_path / "whole.weights.h5")
    content = (tmp_path / "whole.weights.h5").read_bytes()
    (tmp_path / "cut.weights.h5").write_bytes(content[: len(content) // 2])
    Image.fromarray(colour_photo(20, 24, 1)).save(tmp_path / "photo.png")
    return tmp_path


@pytest.mark.parametrize(
    "command, name, message",
    [
        (["colorize", "{photo}", "-o", "{out}"], "plain.keras",
         "a Keras Sequential, not a kcolor model"),
        (["colorize", "{photo}", "-o", "{out}"], "junk.tflite", "not a TFLite model file"),
        (["evaluate", "{photo}"], "junk.tflite", "not a TFLite model file"),
        (["export", "-o", "{out}"], "plain.keras", "not a kcolor model"),
        (["train", "hypercolumn", "--data", "{folder}", "--run-dir", "{out}", "--epochs", "1",
          "--init-from"], "plain.keras", "not a kcolor model"),
        (["train", "hypercolumn", "--data", "{folder}", "--run-dir", "{out}", "--epochs", "1",
          "--set", 'model_args={"taps": ["block1_conv2", "block2_conv2"], "trunk_widths": '
          '[4, 16, 8, 8, 8], "head_units": 8, "bins": 8, "trunk_weights": null}',
          "--init-from"], "cut.weights.h5", "cannot read the weights file"),
    ],
)  # fmt: skip
def test_a_bad_model_file_is_one_line_naming_it(bad_model_files, command, name, message):
    folder = bad_model_files
    values = {"photo": folder / "photo.png", "out": folder / "out", "folder": folder}
    arguments = [str(values.get(part.strip("{}"), part)) for part in command]
    if arguments[-1] != "--init-from":
        arguments.append("--model")
    result = run_kcolor(*arguments, folder / name)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert name in lines[0] and message in lines[0]


@pytest.mark.parametrize("stage", ["decode", "network", "compose"])
def test_a_photo_too_large_for_memory_fails_alone(tiny_model_files, tmp_path, monkeypatch, stage):
    photos = tmp_path / "photos"
    photos.mkdir()
    # The "huge" photo is the only one twice as wide as high: each stage spots it so.
    for name, shape in (("a.png", (20, 24)), ("huge.png", (40, 80)), ("z.png", (20, 24))):
        Image.fromarray(colour_photo(*shape, 1)).save(photos / name)

    def out_of_memory(error=MemoryError):
        raise error

    if stage == "decode":
        real_decode = inference.decode_photo
        monkeypatch.setattr(
            inference,
            "decode_photo",
            lambda source, *rest: (
                out_of_memory() if source.endswith("huge.png") else real_decode(source, *rest)
            ),
        )
    elif stage == "compose":
        real_compose = inference.compose
        monkeypatch.setattr(
            inference,
            "compose",
            lambda rgb, ab: out_of_memory() if rgb.shape[1] == 80 else real_compose(rgb, ab),
        )
    else:
        real_make = kcolor.api.make_colorizer

        def make_colorizer(*args, **kwargs):
            colorizer = real_make(*args, **kwargs)
            real_predict = colorizer.predict_ab
            oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating")
            colorizer.predict_ab = lambda l_norm, *rest: (
                out_of_memory(oom) if l_norm.shape[2] >= 2 * l_norm.shape[1]
                else real_predict(l_norm, *rest)
            )  # fmt: skip
            return colorizer

        monkeypatch.setattr(kcolor.api, "make_colorizer", make_colorizer)
    arguments = ["--model", tiny_model_files["hypercolumn"], "--size", "24", "--quiet"]
    result = run_kcolor("colorize", photos, "-o", tmp_path / "out", "--max-pixels", "0", *arguments)
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failed) == 1, result.stderr
    assert "huge.png" in failed[0] and "not enough memory" in failed[0]
    assert "--max-pixels" in failed[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "z.png"]


def test_a_file_name_with_a_newline_stays_on_one_report_line(tiny_model_files, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "bad\nfailed forged.png").write_bytes(b"not a photo")
    Image.fromarray(colour_photo(20, 24, 1)).save(photos / "good.png")
    arguments = ["--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"]
    result = run_kcolor("colorize", photos, "-o", tmp_path / "out", *arguments)
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failed) == 1 and "bad\\nfailed forged.png" in failed[0]


def test_what_input_folders_hold_besides_photos_is_reported(tiny_model_files, tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    (photos / "album.jpg").mkdir()  # a folder named like a photo
    Image.fromarray(colour_photo(20, 24, 1)).save(photos / "sub" / "a.png")
    (photos / "notes.txt").write_text("not a photo")
    (photos / "gone.png").symlink_to(tmp_path / "missing.png")
    (photos / "sub" / "loop").symlink_to(photos)
    arguments = ["--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"]
    result = run_kcolor("colorize", photos, "-o", tmp_path / "out", *arguments)
    assert result.returncode == 0, result.stderr
    assert "wrote 1 file(s)" in result.stdout and "4 left out (not photos)" in result.stdout
    for name, reason in (
        ("album.jpg", "a folder, not a photo"),
        ("notes.txt", "not a photo"),
        ("gone.png", "a broken link"),
        ("loop", "a link loop"),
    ):
        assert any(name in line and reason in line for line in result.stderr.splitlines()), name
