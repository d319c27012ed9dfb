"""TFRecord shards of encoded images: the recommended training input at scale.

Each record is a ``tf.train.Example`` holding the file's original encoded bytes (no
re-encoding, so no quality is lost) and the name it had, for messages.
"""

import math
import os
import sys

import tensorflow as tf
from tqdm import tqdm

from kcolor.data import decoding, sources
from kcolor.errors import ConfigError

ENCODED_KEY = "image/encoded"
NAME_KEY = "image/filename"

_FEATURES = {
    ENCODED_KEY: tf.io.FixedLenFeature([], tf.string),
    NAME_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def parse_record(serialized):
    """One serialized record -> ``(name, encoded_bytes)`` scalar string tensors."""
    example = tf.io.parse_single_example(serialized, _FEATURES)
    return example[NAME_KEY], example[ENCODED_KEY]


def _example(name: str, encoded: bytes) -> bytes:
    feature = {
        ENCODED_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
        NAME_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[name.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _decodable(paths, progress: bool) -> list[str]:
    """The paths that decode, checked in parallel by TensorFlow; the others are reported."""
    paths = sources.readable_files(paths)
    checked = (
        tf.data.Dataset.from_tensor_slices(list(paths))
        .interleave(
            lambda path: decoding.try_process(
                path, tf.io.read_file(path), decoding.decode_image_bytes
            ),
            cycle_length=tf.data.AUTOTUNE,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .map(
            lambda name, encoded, _rgb, succeeded: (
                name,
                tf.where(succeeded, "", decoding.explain_undecodable(encoded)),
            )
        )
    )
    good = []
    for name, problem in tqdm(
        checked.as_numpy_iterator(),
        total=len(paths),
        unit="img",
        desc="checking",
        disable=not progress,
    ):
        if problem:
            sources.warn_skipped(name.decode(), problem.decode())
        else:
            good.append(name.decode())
    return good


def write_tfrecords(
    image_sources,
    output_dir: str | os.PathLike,
    *,
    images_per_shard: int = 1000,
    prefix: str = "images",
    overwrite: bool = False,
    progress: bool = True,
) -> list[str]:
    """Shard the images of ``image_sources`` into TFRecord files.

    Every image is decoded once to check it; files that cannot be decoded are left out
    and reported on stderr with their name and the reason. Each shard is written to a
    temporary name and renamed when complete, so no partial shard is left behind.

    Args:
        image_sources: folders, glob patterns or image files (see
            :func:`kcolor.data.sources.resolve_source`).
        output_dir: folder for the shards, created if missing.
        images_per_shard: images per shard (about 100-200 MB per shard is a good size).
        prefix: shard names are ``{prefix}-00000-of-00012.tfrecord``.
        overwrite: replace existing shards of the same names instead of refusing.
        progress: show a progress bar on stderr.

    Returns:
        Paths of the shards written, sorted.

    Raises:
        FileExistsError: a shard of the same name exists and ``overwrite`` is false.
        ValueError: no image could be read from the sources.
    """
    if images_per_shard < 1:
        raise ConfigError(f"images_per_shard must be >= 1. Received: {images_per_shard}")
    resolved = sources.resolve_sources(image_sources)
    paths = [path for source in resolved for path in source.images]
    if not paths:
        raise ConfigError(f"No image files in {[s.source for s in resolved]} (only shards).")
    good = _decodable(paths, progress)
    if not good:
        raise ConfigError(f"None of the {len(paths)} image files could be decoded.")
    if len(good) < len(paths):
        print(
            f"WARNING kcolor: {len(paths) - len(good)} unreadable file(s) left out.",
            file=sys.stderr,
        )

    num_shards = math.ceil(len(good) / images_per_shard)
    os.makedirs(output_dir, exist_ok=True)
    shard_paths = [
        os.path.join(output_dir, f"{prefix}-{index:05d}-of-{num_shards:05d}.tfrecord")
        for index in range(num_shards)
    ]
    existing = [path for path in shard_paths if os.path.exists(path)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{len(existing)} shard(s) exist already, e.g. {existing[0]!r}; "
            "pass overwrite=True (--overwrite) to replace them."
        )
    with tqdm(total=len(good), unit="img", desc="writing", disable=not progress) as bar:
        for index, shard_path in enumerate(shard_paths):
            chunk = good[index * images_per_shard : (index + 1) * images_per_shard]
            write_shard(shard_path, [(path, path) for path in chunk])
            bar.update(min(images_per_shard, len(good) - index * images_per_shard))
    return shard_paths


def write_shard(shard_path: str, members) -> None:
    """Write one shard of ``(name, path)`` pairs (the name is stored for messages) under a
    temporary name, renamed only once it is complete."""
    temp_path = shard_path + ".partial"
    try:
        with tf.io.TFRecordWriter(temp_path) as writer:
            for name, path in members:
                with open(path, "rb") as handle:
                    writer.write(_example(name, handle.read()))
        os.replace(temp_path, shard_path)
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)
