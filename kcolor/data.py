"""The input pipeline: image files or TFRecord shards -> batches of normalised ``(L, ab)``.

Everything per image runs as TensorFlow ops in parallel ``tf.data`` stages: reading,
decoding (failures caught per file, see :mod:`kcolor.decoding`), the grayscale check,
cropping, flipping and the Lab conversion. Python only lists the files, once.
"""

import dataclasses
import os
import sys

import tensorflow as tf

from kcolor import color, decoding, sources, tfrecords

AUTOTUNE = tf.data.AUTOTUNE
# Side of the thumbnail the grayscale check measures: enough pixels for a stable mean
# chroma, few enough to cost nothing next to decoding.
_CHROMA_THUMBNAIL = 64


class PipelineStats:
    """Counters a pipeline updates while it runs (pass one to :func:`lab_dataset`).

    The counts accumulate over every iteration of every pipeline given this object.

    Attributes:
        decoded: images decoded successfully (grayscale ones included).
        unreadable: files skipped because they could not be read or decoded.
        grayscale: decoded images skipped because their mean chroma was too low.
    """

    def __init__(self):
        with tf.init_scope():
            self.decoded = tf.Variable(0, dtype=tf.int64, trainable=False, name="decoded")
            self.unreadable = tf.Variable(0, dtype=tf.int64, trainable=False, name="unreadable")
            self.grayscale = tf.Variable(0, dtype=tf.int64, trainable=False, name="grayscale")

    def as_dict(self) -> dict[str, int]:
        """Current counts as plain integers."""
        return {
            "decoded": int(self.decoded.numpy()),
            "unreadable": int(self.unreadable.numpy()),
            "grayscale": int(self.grayscale.numpy()),
        }


@dataclasses.dataclass(frozen=True)
class _Settings:
    image_size: tuple[int, int]
    training: bool
    min_chroma: float
    crop_area: tuple[float, float]
    crop_aspect: tuple[float, float]
    stats: PipelineStats | None


def _image_size(image_size) -> tuple[int, int]:
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image_size must be an int or (height, width). Received: {image_size}")
    return int(size[0]), int(size[1])


def mean_chroma(rgb):
    """Mean Lab chroma of an RGB image, measured on a small thumbnail.

    Args:
        rgb: float32 (H, W, 3), R, G, B in [0, 1].

    Returns:
        float32 scalar, mean sqrt(a^2 + b^2) in Lab units: 0 for gray images, a few units
        for muted photos, 10-30 for typical colour photos.
    """
    thumbnail = tf.image.resize(rgb, [_CHROMA_THUMBNAIL, _CHROMA_THUMBNAIL], antialias=False)
    lch = color.lab_to_lch(color.rgb_to_lab(thumbnail))
    return tf.reduce_mean(lch[..., 1])


def _random_resized_crop(rgb, seed, settings: _Settings):
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(rgb),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=settings.crop_aspect,
        area_range=settings.crop_area,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(rgb, begin, size)
    return tf.image.resize(crop, settings.image_size, antialias=True)


def _resize_and_centre_crop(rgb, settings: _Settings):
    height, width = settings.image_size
    shape = tf.cast(tf.shape(rgb)[:2], tf.float32)
    # Scale so the image covers the target on both axes, then cut the centre.
    scale = tf.maximum(height / shape[0], width / shape[1])
    resized_shape = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    resized_shape = tf.maximum(resized_shape, [height, width])
    resized = tf.image.resize(rgb, resized_shape, antialias=True)
    offset = (resized_shape - [height, width]) // 2
    return tf.slice(resized, [offset[0], offset[1], 0], [height, width, 3])


def _to_model_lab(rgb, seed, settings: _Settings):
    if settings.training:
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        rgb = _random_resized_crop(rgb, crop_seed, settings)
        rgb = tf.image.stateless_random_flip_left_right(rgb, flip_seed)
    else:
        rgb = _resize_and_centre_crop(rgb, settings)
    rgb = tf.clip_by_value(rgb, 0.0, 1.0)
    l_norm, ab_norm = color.rgb_to_model_lab(rgb)
    height, width = settings.image_size
    return tf.ensure_shape(l_norm, [height, width, 1]), tf.ensure_shape(ab_norm, [height, width, 2])


def _keep_decoded(name, problem, settings: _Settings):
    ok = tf.equal(problem, "")
    updates = []
    if settings.stats is not None:
        updates.append(settings.stats.decoded.assign_add(tf.cast(ok, tf.int64)))
        updates.append(settings.stats.unreadable.assign_add(1 - tf.cast(ok, tf.int64)))

    def warn():
        message = tf.strings.join(["WARNING kcolor: skipped ", name, ": ", problem])
        tf.print(message, output_stream=sys.stderr)
        return tf.constant(False)

    with tf.control_dependencies(updates):
        return tf.cond(ok, lambda: tf.constant(True), warn)


def _keep_coloured(chroma, settings: _Settings):
    coloured = chroma >= settings.min_chroma
    if settings.stats is None:
        return coloured
    update = settings.stats.grayscale.assign_add(1 - tf.cast(coloured, tf.int64))
    with tf.control_dependencies([update]):
        return tf.identity(coloured)


def _encoded_elements(resolved, training: bool, seed, shuffle_buffer: int):
    """A dataset of ``(name, loader_input)`` pairs and the matching ``load_encoded``.

    Image files and TFRecord records are both turned into ``(name, encoded)`` where,
    for files, reading happens inside the decode guard so unreadable files are caught.
    """
    image_paths = [path for source in resolved for path in source.images]
    shard_paths = [path for source in resolved for path in source.shards]
    parts = []
    if image_paths:
        files = tf.data.Dataset.from_tensor_slices(image_paths)
        if training:
            files = files.shuffle(len(image_paths), seed=seed, reshuffle_each_iteration=True)
        parts.append(
            files.interleave(
                lambda path: decoding.decode_or_explain(path, tf.io.read_file),
                cycle_length=AUTOTUNE,
                num_parallel_calls=AUTOTUNE,
            )
        )
    if shard_paths:
        shards = tf.data.Dataset.from_tensor_slices(shard_paths)
        if training:
            shards = shards.shuffle(len(shard_paths), seed=seed, reshuffle_each_iteration=True)
        records = shards.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(len(shard_paths), 16),
            num_parallel_calls=AUTOTUNE,
        ).map(tfrecords.parse_record, num_parallel_calls=AUTOTUNE)
        if training:
            records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        parts.append(
            records.interleave(
                lambda name, encoded: decoding.decode_or_explain(name, lambda _: encoded),
                cycle_length=AUTOTUNE,
                num_parallel_calls=AUTOTUNE,
            )
        )
    if len(parts) == 1:
        return parts[0]
    if training:
        return tf.data.Dataset.sample_from_datasets(parts, seed=seed, stop_on_empty_dataset=False)
    return parts[0].concatenate(parts[1])


def _examples(resolved, settings: _Settings, seed, shuffle_buffer: int):
    """Unbatched ``(L_norm, ab_norm)`` examples from resolved sources."""
    decoded = _encoded_elements(resolved, settings.training, seed, shuffle_buffer)
    decoded = decoded.filter(lambda name, rgb, problem: _keep_decoded(name, problem, settings))
    coloured = decoded.map(
        lambda name, rgb, problem: (rgb, mean_chroma(rgb)), num_parallel_calls=AUTOTUNE
    ).filter(lambda rgb, chroma: _keep_coloured(chroma, settings))
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(coloured, seeds).map(
        lambda pair, element_seed: _to_model_lab(pair[0], element_seed, settings),
        num_parallel_calls=AUTOTUNE,
    )


def _check_usable(resolved, settings: _Settings) -> None:
    """Raise if a source yields no usable image (reads until its first usable one)."""
    probe_settings = dataclasses.replace(settings, training=False, stats=None)
    # Single files named one by one are one source together; folders, globs and shards
    # are each checked on their own.
    singles = [s for s in resolved if os.path.isfile(s.source) and s.images]
    groups = [s for s in resolved if s not in singles]
    if singles:
        names = ", ".join(s.source for s in singles)
        groups.append(
            sources.ResolvedSource(names, tuple(p for s in singles for p in s.images), ())
        )
    for source in groups:
        probe = _examples([source], probe_settings, seed=0, shuffle_buffer=1).take(1)
        if not any(True for _ in probe):
            raise ValueError(
                f"Image source {source.source!r} has no usable image: its "
                f"{len(source.images)} image file(s) and {len(source.shards)} shard(s) hold "
                f"only unreadable files or grayscale photos (mean chroma < "
                f"{settings.min_chroma})."
            )


def lab_dataset(
    image_sources,
    image_size,
    batch_size: int,
    training: bool = True,
    seed: int | None = None,
    *,
    min_chroma: float = 0.5,
    crop_area: tuple[float, float] = (0.25, 1.0),
    crop_aspect: tuple[float, float] = (3 / 4, 4 / 3),
    shuffle_buffer: int = 1024,
    drop_remainder: bool | None = None,
    stats: PipelineStats | None = None,
    check_sources: bool = True,
) -> tf.data.Dataset:
    """Stream batches of normalised Lab tensors from image files or TFRecord shards.

    Args:
        image_sources: a folder (recursive), glob pattern, image file or TFRecord shard
            (written by :func:`kcolor.tfrecords.write_tfrecords`), or a list of them.
        image_size: output side as an int, or ``(height, width)``.
        batch_size: images per batch.
        training: ``True``: shuffle, random resized crop (``crop_area`` of the image,
            aspect in ``crop_aspect``) and random horizontal flip. ``False``: keep the
            order, resize so the image covers ``image_size`` and cut the centre.
        seed: makes shuffling and augmentation repeatable (``None``: different each run).
            Epochs differ from one another either way.
        min_chroma: images whose mean Lab chroma is below this are grayscale photos with
            no colour to learn and are skipped (gray photos measure below 0.1, the most
            muted colour photos in ImageNet about 1; see ``mean_chroma``). Sepia-toned
            photos are kept.
        crop_area: range of the crop's area as a fraction of the image (training only).
        crop_aspect: range of the crop's aspect ratio, width / height (training only).
        shuffle_buffer: records held for shuffling TFRecord input (file lists are shuffled
            whole).
        drop_remainder: drop a last incomplete batch; defaults to ``training``.
        stats: a :class:`PipelineStats` to count decoded, unreadable and grayscale images.
        check_sources: read each source until its first usable image and raise
            ``ValueError`` if it has none.

    Returns:
        A ``tf.data.Dataset`` of ``(L_norm, ab_norm)``: float32 (B, H, W, 1) with
        ``L / 50 - 1`` in [-1, 1], and float32 (B, H, W, 2), channel order a, b, with
        ``ab / 110`` in about [-1, 1]. One pass over the data per iteration.

    Files that cannot be read or decoded are skipped with a warning on stderr naming
    each one; an epoch never stops because of them.
    """
    settings = _Settings(
        image_size=_image_size(image_size),
        training=training,
        min_chroma=float(min_chroma),
        crop_area=tuple(crop_area),
        crop_aspect=tuple(crop_aspect),
        stats=stats,
    )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    resolved = sources.resolve_sources(image_sources)
    if check_sources:
        _check_usable(resolved, settings)
    examples = _examples(resolved, settings, seed, shuffle_buffer)
    if drop_remainder is None:
        drop_remainder = training
    batches = examples.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    # Without a seed nobody can expect a repeatable order, so let fast elements overtake.
    options.deterministic = seed is not None or not training
    return batches.with_options(options).prefetch(AUTOTUNE)
