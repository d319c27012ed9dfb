"""The input pipeline: image files or TFRecord shards -> batches of normalised ``(L, ab)``.

Everything per image runs as TensorFlow ops in parallel ``tf.data`` stages: reading,
decoding (failures caught per file, see :mod:`kcolor.data.decoding`), the grayscale check,
cropping, flipping and the Lab conversion. Python only lists the files, once.
"""

import dataclasses
import os
import sys

import tensorflow as tf

from kcolor import color
from kcolor.data import decoding, sources, tfrecords
from kcolor.errors import ConfigError
from kcolor.images import mean_chroma, resize_image

AUTOTUNE = tf.data.AUTOTUNE
# Images pass the decode guard in groups of this many: one guard per image would cost
# about as much as decoding it (see kcolor.data.decoding.try_process_group).
_GUARD_GROUP = 16


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
        raise ConfigError(f"image_size must be an int or (height, width). Received: {image_size}")
    return int(size[0]), int(size[1])


def _random_window(seed, settings: _Settings):
    """A window chooser for a random resized crop (``crop_area``, ``crop_aspect``)."""

    def choose(shape):
        begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
            tf.concat([shape, [3]], axis=0),
            bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
            seed=seed,
            min_object_covered=0.0,
            aspect_ratio_range=settings.crop_aspect,
            area_range=settings.crop_area,
            max_attempts=10,
            use_image_if_no_bounding_boxes=True,
        )
        return begin[:2], size[:2]

    return choose


def _centre_window(settings: _Settings):
    """A window chooser for the largest centred window of the target's aspect ratio."""

    def choose(shape):
        target = tf.constant(settings.image_size, tf.float64)
        scale = tf.reduce_min(tf.cast(shape, tf.float64) / target)
        size = tf.clip_by_value(tf.cast(tf.round(target * scale), tf.int32), 1, shape)
        return (shape - size) // 2, size

    return choose


def _crop(encoded, seed, settings: _Settings):
    """Encoded bytes -> the example's RGB crop, float32 (height, width, 3) in [0, 1]."""
    if settings.training:
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        window = decoding.decode_image_window(encoded, _random_window(crop_seed, settings))
        rgb = tf.image.stateless_random_flip_left_right(
            resize_image(window, settings.image_size), flip_seed
        )
    else:
        window = decoding.decode_image_window(encoded, _centre_window(settings))
        rgb = resize_image(window, settings.image_size)
    return tf.ensure_shape(rgb, [*settings.image_size, 3])


def _usable(names, encoded, succeeded, chroma, settings: _Settings):
    """Which images of a group to keep; warns about undecodable files and counts.

    Args:
        names, encoded: string tensors (k,).
        succeeded: bool (k,), whether each image decoded.
        chroma: float32 (k,), each example's mean chroma.

    Returns:
        bool (k,): decoded and coloured.
    """
    colored = chroma >= settings.min_chroma
    failed = tf.logical_not(succeeded)
    updates = []
    if settings.stats is not None:
        counts = [
            (settings.stats.decoded, succeeded),
            (settings.stats.unreadable, failed),
            (settings.stats.grayscale, succeeded & tf.logical_not(colored)),
        ]
        updates = [
            counter.assign_add(tf.reduce_sum(tf.cast(flags, tf.int64))) for counter, flags in counts
        ]

    def warn():
        problems = decoding.explain_undecodable(tf.boolean_mask(encoded, failed))
        lines = tf.strings.join(
            ["WARNING kcolor: skipped ", tf.boolean_mask(names, failed), ": ", problems]
        )
        tf.print(tf.strings.reduce_join(lines, separator="\n"), output_stream=sys.stderr)
        return tf.constant(True)

    warned = tf.cond(tf.reduce_any(failed), warn, lambda: tf.constant(False))
    with tf.control_dependencies([*updates, warned]):
        return tf.identity(succeeded & colored)


def _readable_image_paths(resolved, settings: _Settings) -> list[str]:
    listed = [path for source in resolved for path in source.images]
    paths = sources.readable_files(listed)
    if len(paths) < len(listed) and settings.stats is not None:
        settings.stats.unreadable.assign_add(len(listed) - len(paths))
    return paths


def _named_images(resolved, settings: _Settings, seed, shuffle_buffer: int):
    """Datasets of ``(name, encoded bytes)``: one for image files, one for TFRecords."""
    image_paths = _readable_image_paths(resolved, settings)
    shard_paths = [path for source in resolved for path in source.shards]
    parts = []
    if image_paths:
        files = tf.data.Dataset.from_tensor_slices(image_paths)
        if settings.training:
            files = files.shuffle(len(image_paths), seed=seed, reshuffle_each_iteration=True)
        # A file that vanishes after the listing fails here; TensorFlow's log of the
        # skipped error names the path.
        parts.append(
            files.map(
                lambda path: (path, tf.io.read_file(path)), num_parallel_calls=AUTOTUNE
            ).ignore_errors(log_warning=True)
        )
    if shard_paths:
        shards = tf.data.Dataset.from_tensor_slices(shard_paths)
        if settings.training:
            shards = shards.shuffle(len(shard_paths), seed=seed, reshuffle_each_iteration=True)
        records = shards.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(len(shard_paths), 16),
            num_parallel_calls=AUTOTUNE,
        ).map(tfrecords.parse_record, num_parallel_calls=AUTOTUNE)
        if settings.training:
            records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        parts.append(records)
    return parts


def _examples(resolved, settings: _Settings, seed, shuffle_buffer: int):
    """Unbatched ``(L_norm, ab_norm)`` examples of usable images.

    All per-image work (decode, crop, flip, Lab) runs in one guarded, parallel stage on
    small groups of images; a vectorised step then drops undecodable files (with a
    warning naming each) and grayscale photos.
    """
    named = _named_images(resolved, settings, seed, shuffle_buffer)
    if len(named) == 1:
        images = named[0]
    elif settings.training:
        images = tf.data.Dataset.sample_from_datasets(named, seed=seed)
    else:
        images = named[0].concatenate(named[1])
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    groups = tf.data.Dataset.zip(images, seeds).batch(_GUARD_GROUP)
    guarded = groups.interleave(
        lambda image, group_seeds: decoding.try_process_group(
            image[0],
            image[1],
            group_seeds,
            lambda encoded, element_seed: _crop(encoded, element_seed, settings),
            tf.TensorSpec([*settings.image_size, 3], tf.float32),
        ),
        cycle_length=AUTOTUNE,
        num_parallel_calls=AUTOTUNE,
    )

    def usable_lab(names, encoded, rgb, succeeded):
        # One conversion for the whole group: far fewer op launches than one per image.
        l_norm, ab_norm = color.rgb_to_model_lab(rgb)
        chroma = mean_chroma(ab_norm) * color.AB_SCALE  # chroma scales with ab
        usable = _usable(names, encoded, succeeded, chroma, settings)
        return tf.boolean_mask(l_norm, usable), tf.boolean_mask(ab_norm, usable)

    return guarded.map(usable_lab, num_parallel_calls=AUTOTUNE).unbatch()


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
            raise ConfigError(
                f"Image source {source.source!r} has no usable image: its "
                f"{len(source.images)} image file(s) and {len(source.shards)} shard(s) hold "
                f"only unreadable files or grayscale photos (mean chroma < "
                f"{settings.min_chroma})."
            )


def _mixed_examples(streams, weights, settings: _Settings, seed, shuffle_buffer, check):
    """Examples drawn from several endlessly repeated streams with mixing ``weights``."""
    if not settings.training:
        raise ConfigError("weights mix training streams; pass training=True or no weights.")
    if isinstance(streams, str | os.PathLike):
        streams = [streams]
    streams, weights = list(streams), [float(weight) for weight in weights]
    if len(streams) != len(weights) or not streams:
        raise ConfigError(
            f"weights needs one weight per source: {len(streams)} source(s), "
            f"{len(weights)} weight(s)."
        )
    if min(weights) < 0 or sum(weights) <= 0:
        raise ConfigError(f"weights must be 0 or more, not all 0. Received: {weights}")
    parts = []
    for index, stream in enumerate(streams):
        resolved = sources.resolve_sources(stream)
        if check:
            _check_usable(resolved, settings)
        # Distinct but repeatable seeds: streams must not shuffle in lockstep.
        stream_seed = None if seed is None else seed * 1009 + index
        parts.append(_examples(resolved, settings, stream_seed, shuffle_buffer).repeat())
    total = sum(weights)
    return tf.data.Dataset.sample_from_datasets(
        parts, [weight / total for weight in weights], seed=seed
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
    weights=None,
) -> tf.data.Dataset:
    """Stream batches of normalised Lab tensors from image files or TFRecord shards.

    Args:
        image_sources: a folder (recursive), glob pattern, image file or TFRecord shard
            (written by :func:`kcolor.data.tfrecords.write_tfrecords`), or a list of them.
        image_size: output side as an int, or ``(height, width)``.
        batch_size: images per batch.
        training: ``True``: shuffle, random resized crop (``crop_area`` of the image,
            aspect in ``crop_aspect``) and random horizontal flip. ``False``: keep the
            order, cut the largest centred window of the target's aspect ratio and resize
            it to ``image_size``.
        seed: makes shuffling and augmentation repeatable (``None``: different each run).
            Epochs differ from one another either way.
        min_chroma: examples whose mean Lab chroma is below this have no colour to learn
            (grayscale photos) and are skipped. Measured on the example itself (the crop),
            so it costs no extra conversion; gray photos measure below 0.1, the most muted
            colour photos in ImageNet about 1 (see :func:`mean_chroma`). Sepia-toned
            photos are kept.
        crop_area: range of the crop's area as a fraction of the image (training only).
        crop_aspect: range of the crop's aspect ratio, width / height (training only).
        shuffle_buffer: records held for shuffling TFRecord input (file lists are shuffled
            whole).
        drop_remainder: drop a last incomplete batch; defaults to ``training``.
        stats: a :class:`PipelineStats` to count decoded, unreadable and grayscale images.
        check_sources: read each source until its first usable image and raise
            ``ValueError`` if it has none.
        weights: mixing weights, one per item of ``image_sources`` (training only). Each
            item (a source or a list of sources) is then a stream of its own, repeated
            without end, and every example is drawn from stream ``i`` with probability
            ``weights[i] / sum(weights)`` (``tf.data.Dataset.sample_from_datasets``), so a
            run can balance, say, scenes, faces and objects whatever their sizes. The
            dataset is then infinite. ``None``: all sources form one pass, in proportion
            to their sizes.

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
        raise ConfigError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    if weights is None:
        resolved = sources.resolve_sources(image_sources)
        if check_sources:
            _check_usable(resolved, settings)
        examples = _examples(resolved, settings, seed, shuffle_buffer)
    else:
        examples = _mixed_examples(
            image_sources, weights, settings, seed, shuffle_buffer, check_sources
        )
    if drop_remainder is None:
        drop_remainder = training
    batches = examples.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    # Without a seed nobody can expect a repeatable order, so let fast elements overtake.
    options.deterministic = seed is not None or not training
    return batches.with_options(options).prefetch(AUTOTUNE)
