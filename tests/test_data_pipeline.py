import io
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import colour_photo, encode
from PIL import Image

import kcolor
from kcolor import color, data, images
from kcolor.data import decoding, sources, tfrecords


def collect(dataset):
    ls, abs_ = zip(
        *[(l_batch.numpy(), ab_batch.numpy()) for l_batch, ab_batch in dataset], strict=False
    )
    return np.concatenate(ls), np.concatenate(abs_)


def test_mixed_folder_streams_good_images_and_names_broken_files(mixed_folder, capfd):
    folder, broken = mixed_folder
    stats = data.PipelineStats()
    dataset = data.lab_dataset(folder, 16, batch_size=3, training=True, seed=3, stats=stats)
    assert dataset.element_spec[0].shape.as_list() == [3, 16, 16, 1]
    batches = list(dataset)
    # 8 colour images, batches of 3 with the remainder dropped in training.
    assert len(batches) == 2
    for l_norm, ab_norm in batches:
        assert l_norm.shape == (3, 16, 16, 1) and ab_norm.shape == (3, 16, 16, 2)
        assert l_norm.dtype == tf.float32 and ab_norm.dtype == tf.float32
        assert -1.0 <= l_norm.numpy().min() and l_norm.numpy().max() <= 1.0
        assert np.abs(ab_norm.numpy()).max() <= 1.0
        assert np.abs(ab_norm.numpy()).mean() > 0.02  # colour photos, not gray ones
    assert stats.as_dict() == {"decoded": 10, "unreadable": 4, "grayscale": 2}
    errors = capfd.readouterr().err
    for name in broken:
        assert f"{name}: " in errors
    assert "empty.jpg: empty file" in errors
    assert "notes.jpg: not a JPEG, PNG, GIF, BMP or WebP image" in errors
    assert "truncated.jpg: truncated or corrupt JPEG data" in errors


def test_evaluation_keeps_every_usable_image_in_order(mixed_folder):
    folder, _ = mixed_folder
    dataset = data.lab_dataset(folder, (12, 20), batch_size=3, training=False)
    l_norm, ab_norm = collect(dataset)
    assert l_norm.shape == (8, 12, 20, 1) and ab_norm.shape == (8, 12, 20, 2)
    again, _ = collect(dataset)
    np.testing.assert_array_equal(l_norm, again)


def test_same_seed_gives_same_batches_and_another_seed_differs(mixed_folder):
    folder, _ = mixed_folder

    def first_epoch(seed):
        return collect(data.lab_dataset(folder, 16, batch_size=4, training=True, seed=seed))[0]

    np.testing.assert_array_equal(first_epoch(7), first_epoch(7))
    assert not np.array_equal(first_epoch(7), first_epoch(8))


def test_epochs_of_one_dataset_differ(mixed_folder):
    folder, _ = mixed_folder
    dataset = data.lab_dataset(folder, 16, batch_size=4, training=True, seed=7)
    assert not np.array_equal(collect(dataset)[0], collect(dataset)[0])


def test_uniform_colour_gives_its_exact_normalised_lab(tmp_path):
    rgb = np.array([200, 40, 90], np.uint8)
    (tmp_path / "flat.png").write_bytes(encode(np.tile(rgb, (30, 45, 1)), "PNG"))
    expected_lab = color.rgb_to_lab(rgb.astype(np.float32) / 255).numpy()
    for training in (True, False):
        l_norm, ab_norm = collect(data.lab_dataset(tmp_path, 8, 1, training=training, seed=0))
        np.testing.assert_allclose(l_norm[..., 0], expected_lab[0] / 50 - 1, atol=1e-4)
        np.testing.assert_allclose(ab_norm[0, 0, 0], expected_lab[1:] / 110, atol=1e-4)


def test_evaluation_resizes_to_cover_and_cuts_the_centre(tmp_path):
    stripes = np.zeros((30, 90, 3), np.uint8)
    stripes[:, :30] = [255, 0, 0]
    stripes[:, 30:60] = [0, 255, 0]
    stripes[:, 60:] = [0, 0, 255]
    (tmp_path / "stripes.png").write_bytes(encode(stripes, "PNG"))
    l_norm, ab_norm = collect(data.lab_dataset(tmp_path, 10, 1, training=False))
    # The centred 30x30 window is columns 30..59, all green: a strongly negative.
    assert l_norm.shape == (1, 10, 10, 1)
    green_a = color.rgb_to_lab(np.array([0.0, 1.0, 0.0], np.float32)).numpy()[1] / 110
    np.testing.assert_allclose(ab_norm[0, :, 2:8, 0], green_a, atol=0.02)


def test_training_flips_horizontally_sometimes(tmp_path):
    halves = np.zeros((20, 20, 3), np.uint8)
    halves[:, :10] = [255, 0, 0]
    halves[:, 10:] = [0, 0, 255]
    (tmp_path / "halves.png").write_bytes(encode(halves, "PNG"))
    dataset = data.lab_dataset(
        tmp_path, 20, 1, training=True, seed=1, crop_area=(1.0, 1.0), crop_aspect=(1.0, 1.0)
    )
    # b is about +0.6 for red and -1.0 for blue (a is positive for both).
    red_on_left = [collect(dataset)[1][0, 10, 2, 1] > 0 for _ in range(12)]
    assert any(red_on_left) and not all(red_on_left)


def test_sixteen_bit_png_keeps_its_precision():
    ramp = (np.linspace(0, 65535, 3 * 8 * 8) * np.ones(1)).astype(np.uint16).reshape(8, 8, 3)
    encoded = tf.io.encode_png(ramp).numpy()
    assert encoded[24] == 16  # IHDR bit depth: a real 16-bit file
    decoded = decoding.decode_image_bytes(encoded).numpy()
    np.testing.assert_allclose(decoded, ramp / 65535.0, atol=1e-6)


def test_gray_png_is_replicated_to_three_channels():
    gray = (np.arange(64, dtype=np.uint8) * 4).reshape(8, 8)
    decoded = decoding.decode_image_bytes(encode(gray, "PNG")).numpy()
    assert decoded.shape == (8, 8, 3)
    np.testing.assert_allclose(decoded[..., 1], gray / 255.0, atol=1e-6)


def test_source_without_usable_image_is_a_clear_error(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    gray = np.full((16, 16), 90, np.uint8)
    (tmp_path / "gray.png").write_bytes(encode(gray, "PNG"))
    with pytest.raises(ValueError, match="has no usable image"):
        data.lab_dataset(tmp_path, 8, 1)


def test_each_source_is_checked_on_its_own(tmp_path, mixed_folder):
    good, _ = mixed_folder
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "gray.png").write_bytes(encode(np.full((16, 16), 90, np.uint8), "PNG"))
    with pytest.raises(ValueError, match="bad"):
        data.lab_dataset([good, bad], 8, 1)
    assert data.lab_dataset([good, bad], 8, 1, check_sources=False) is not None


def test_missing_and_empty_sources_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.lab_dataset(tmp_path / "nowhere", 8, 1)
    with pytest.raises(FileNotFoundError, match="matches no file"):
        data.lab_dataset(str(tmp_path / "*.jpg"), 8, 1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image file"):
        data.lab_dataset(tmp_path / "empty", 8, 1)


def test_globs_and_file_lists(mixed_folder):
    folder, _ = mixed_folder
    from_glob = collect(data.lab_dataset(str(folder / "**" / "*.[jJ]*"), 8, 2, training=False))
    # a.jpg and sub dir/b.JPEG; gray_rgb.jpg is grayscale and the broken .jpg files fail.
    assert from_glob[0].shape[0] == 2
    files = [folder / "a.jpg", folder / "c.png", folder / "gray_rgb.jpg"]
    assert collect(data.lab_dataset(files, 8, 2, training=False))[0].shape[0] == 2


def test_pipeline_runs_no_python_per_image(mixed_folder):
    folder, _ = mixed_folder
    dataset = data.lab_dataset(folder, 8, 2, stats=data.PipelineStats())
    graph = dataset._as_serialized_graph(
        external_state_policy=tf.data.experimental.ExternalStatePolicy.IGNORE
    ).numpy()
    assert b"PyFunc" not in graph and b"EagerPyFunc" not in graph
    assert b"DecodeImage" in graph


def test_rejects_bad_arguments(mixed_folder):
    folder, _ = mixed_folder
    with pytest.raises(ValueError, match="image_size"):
        data.lab_dataset(folder, (8, 8, 3), 2)
    with pytest.raises(ValueError, match="batch_size"):
        data.lab_dataset(folder, 8, 0)


def test_mean_chroma_separates_gray_from_colour():
    photo = colour_photo(32, 32, seed=3).astype(np.float32) / 255
    gray = np.repeat(photo.mean(axis=-1, keepdims=True), 3, axis=-1)
    assert float(images.mean_chroma(color.rgb_to_lab(gray)[..., 1:])) < 0.1
    assert float(images.mean_chroma(color.rgb_to_lab(photo)[..., 1:])) > 10


def test_gif_gives_its_first_frame():
    first, second = colour_photo(16, 16, seed=11), colour_photo(16, 16, seed=12)
    frames = [Image.fromarray(frame) for frame in (first, second)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    decoded = decoding.decode_image_bytes(buffer.getvalue()).numpy()
    # GIF stores a 256-colour palette, so compare loosely; the frames differ far more.
    assert np.abs(decoded - first / 255).mean() < 0.03
    assert np.abs(decoded - second / 255).mean() > 0.1


def test_files_and_shards_mix_in_one_dataset(mixed_folder, tmp_path):
    folder, _ = mixed_folder
    shards = tfrecords.write_tfrecords(folder, tmp_path / "shards", progress=False)
    both = [folder, *shards]
    for training in (True, False):
        l_norm, _ = collect(data.lab_dataset(both, 8, 4, training=training, seed=0))
        assert l_norm.shape[0] == 16


def test_files_without_read_permission_are_named_and_counted(mixed_folder, monkeypatch, capsys):
    folder, _ = mixed_folder
    locked = str(folder / "a.jpg")
    # Tests run as root here, where chmod cannot deny reading; stand in for the check.
    real_access = os.access
    monkeypatch.setattr(
        sources.os, "access", lambda path, mode: path != locked and real_access(path, mode)
    )
    stats = data.PipelineStats()
    l_norm, _ = collect(data.lab_dataset(folder, 8, 4, training=False, stats=stats))
    assert l_norm.shape[0] == 7
    assert f"skipped {locked}: cannot be read (permission denied)" in capsys.readouterr().err
    assert stats.as_dict()["unreadable"] == 5


def _uniform_folder(folder, rgb, count):
    folder.mkdir()
    for index in range(count):
        Image.fromarray(np.full((24, 24, 3), rgb, np.uint8)).save(folder / f"{index}.png")
    return str(folder)


def test_mixing_weights_set_the_proportions_drawn(tmp_path):
    # Three streams of very different sizes; red, green and blue tell them apart.
    red = _uniform_folder(tmp_path / "red", (200, 40, 40), 3)
    green = _uniform_folder(tmp_path / "green", (40, 200, 40), 20)
    blue = _uniform_folder(tmp_path / "blue", (40, 40, 200), 7)
    dataset = kcolor.data.lab_dataset(
        [red, [green], blue], 8, 50, training=True, seed=3, weights=[6, 3, 1]
    )
    counts = np.zeros(3)
    for _, ab_norm in dataset.take(20):
        a, b = ab_norm[:, 0, 0, 0].numpy(), ab_norm[:, 0, 0, 1].numpy()
        counts += [np.sum((a > 0.2) & (b > 0.2)), np.sum(a < -0.2), np.sum((a > 0.2) & (b < -0.2))]
    assert counts.sum() == 1000
    np.testing.assert_allclose(counts / 1000, [0.6, 0.3, 0.1], atol=0.05)


def test_mixing_weights_are_checked(tmp_path):
    red = _uniform_folder(tmp_path / "red", (200, 40, 40), 2)
    with pytest.raises(ValueError, match="one weight per source"):
        kcolor.data.lab_dataset([red, red], 8, 2, weights=[1.0])
    with pytest.raises(ValueError, match="not all 0"):
        kcolor.data.lab_dataset([red], 8, 2, weights=[0.0])
    with pytest.raises(ValueError, match="training=True"):
        kcolor.data.lab_dataset([red], 8, 2, training=False, weights=[1.0])
