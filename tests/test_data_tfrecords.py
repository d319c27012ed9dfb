import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from kcolor import data
from kcolor.cli import main
from kcolor.data import tfrecords


def collect_l(dataset):
    return np.concatenate([l_batch.numpy() for l_batch, _ in dataset])


def test_shards_hold_the_readable_images_and_stream_like_the_folder(mixed_folder, tmp_path, capfd):
    folder, broken = mixed_folder
    shards = tfrecords.write_tfrecords(
        folder, tmp_path / "shards", images_per_shard=4, progress=False
    )
    # 10 decodable images (8 colour + 2 grayscale) in shards of 4.
    assert [os.path.basename(p) for p in shards] == [
        f"images-0000{i}-of-00003.tfrecord" for i in range(3)
    ]
    assert sum(1 for _ in tf.data.TFRecordDataset(shards)) == 10
    errors = capfd.readouterr().err
    for name in broken:
        assert f"{name}: " in errors
    assert not [p for p in os.listdir(tmp_path / "shards") if p.endswith(".partial")]

    from_shards = collect_l(data.lab_dataset(tmp_path / "shards", 8, 4, training=False))
    from_folder = collect_l(data.lab_dataset(folder, 8, 4, training=False))
    assert from_shards.shape == from_folder.shape == (8, 8, 8, 1)
    # Same images, possibly another order: compare the sorted per-image means.
    np.testing.assert_allclose(
        np.sort(from_shards.mean(axis=(1, 2, 3))),
        np.sort(from_folder.mean(axis=(1, 2, 3))),
        atol=1e-6,
    )
    training = data.lab_dataset(tmp_path / "shards", 8, 2, training=True, seed=0)
    assert collect_l(training).shape == (8, 8, 8, 1)


def test_records_keep_the_original_bytes_and_name(mixed_folder, tmp_path):
    folder, _ = mixed_folder
    (shard,) = tfrecords.write_tfrecords(folder / "a.jpg", tmp_path, progress=False)
    name, encoded = tfrecords.parse_record(next(iter(tf.data.TFRecordDataset(shard))))
    assert name.numpy().decode() == str(folder / "a.jpg")
    assert encoded.numpy() == (folder / "a.jpg").read_bytes()


def test_existing_shards_are_not_overwritten_unless_asked(mixed_folder, tmp_path):
    folder, _ = mixed_folder
    first = tfrecords.write_tfrecords(folder, tmp_path, progress=False)
    before = Path(first[0]).read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        tfrecords.write_tfrecords(folder, tmp_path, progress=False)
    assert Path(first[0]).read_bytes() == before
    again = tfrecords.write_tfrecords(folder, tmp_path, overwrite=True, progress=False)
    assert again == first


def test_corrupt_shard_records_are_skipped_by_name(tmp_path, capfd):
    corrupt = tf.train.Example(
        features=tf.train.Features(
            feature={
                tfrecords.ENCODED_KEY: tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[b"\x89PNG\r\n\x1a\n broken"])
                ),
                tfrecords.NAME_KEY: tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[b"lost.png"])
                ),
            }
        )
    )
    with tf.io.TFRecordWriter(str(tmp_path / "bad.tfrecord")) as writer:
        writer.write(corrupt.SerializeToString())
    with pytest.raises(ValueError, match="no usable image"):
        data.lab_dataset(tmp_path / "bad.tfrecord", 8, 1)
    assert "lost.png: truncated or corrupt PNG data" in capfd.readouterr().err


def test_cli_make_tfrecords(mixed_folder, tmp_path, capsys):
    folder, _ = mixed_folder
    out = tmp_path / "cli_shards"
    assert main(["make-tfrecords", str(folder), "-o", str(out), "--quiet"]) == 0
    assert "wrote 1 shard(s)" in capsys.readouterr().out
    assert main(["make-tfrecords", str(folder), "-o", str(out), "--quiet"]) == 1
    assert "exist already" in capsys.readouterr().err
    assert main(["make-tfrecords", str(tmp_path / "missing"), "-o", str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err
