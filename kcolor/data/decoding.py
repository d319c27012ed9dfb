"""Decoding encoded images inside TensorFlow graphs, and skipping the ones that fail.

TensorFlow's decoders raise on bad data, and a raised error ends a ``tf.data`` epoch.
``Dataset.ignore_errors`` keeps the epoch alive but its log does not say which file
failed. :func:`try_process` therefore decodes each element inside its own
one-element dataset, so a failure is caught per file and the file's name stays at hand
for the warning; no maintained library offers this for ``tf.data``.
"""

import tensorflow as tf

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Leading bytes of the formats tf.io.decode_image reads; used only to explain a failure.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (PNG_SIGNATURE, "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"RIFF", "WebP"),
)


def _is(encoded, signature):
    return tf.equal(tf.strings.substr(encoded, 0, len(signature)), signature)


def to_rgb(image):
    """A decoded image (H, W, 1-4 channels, any dtype) as (H, W, 3): one or two channels
    (gray, gray+alpha) give the gray plane three times; four drop alpha."""
    channels = tf.shape(image)[-1]
    rgb = tf.cond(
        channels < 3,
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
        lambda: image[..., :3],
    )
    rgb.set_shape([None, None, 3])
    return rgb


def decode_image_bytes(encoded):
    """Decode one encoded image to RGB.

    Reads JPEG, PNG (8- or 16-bit; gray, gray+alpha, RGB, RGBA, palette), BMP, GIF (first
    frame) and WebP. Gray images are replicated to three channels; alpha is dropped.

    Args:
        encoded: scalar string tensor, the file's bytes.

    Returns:
        float32 tensor (H, W, 3), channel order R, G, B, in [0, 1].

    Raises:
        tf.errors.InvalidArgumentError: at run time, when the bytes are not a complete
        image in one of these formats.
    """
    # PNG goes through decode_png at 16 bits so 16-bit files keep their precision (8-bit
    # ones scale exactly); decode_image reads WebP only as uint8, so the rest use that.
    image = tf.cond(
        _is(encoded, PNG_SIGNATURE),
        lambda: (
            tf.cast(tf.io.decode_png(encoded, channels=0, dtype=tf.uint16), tf.float32) / 65535.0
        ),
        lambda: (
            tf.cast(
                tf.io.decode_image(encoded, channels=0, dtype=tf.uint8, expand_animations=False),
                tf.float32,
            )
            / 255.0
        ),
    )
    return to_rgb(image)


def _little_endian(data, start, length):
    """Unsigned little-endian integer of ``length`` bytes at ``start`` of a uint8 vector."""
    value = tf.constant(0, tf.int64)
    for offset in reversed(range(length)):
        value = value * 256 + tf.cast(data[start + offset], tf.int64)
    return value


def _big_endian(data, start, length):
    value = tf.constant(0, tf.int64)
    for offset in range(length):
        value = value * 256 + tf.cast(data[start + offset], tf.int64)
    return value


def _jpeg_shape(encoded):
    # extract_jpeg_shape raises on a damaged header; the guard turns that into "unknown".
    attempt = try_process(
        "", encoded, lambda data: tf.cast(tf.image.extract_jpeg_shape(data), tf.int64)
    )
    _, _, shape, succeeded = attempt.get_single_element()
    return tf.where(succeeded, shape[:2], tf.constant([-1, -1], tf.int64))


def declared_shape(encoded):
    """``(height, width)`` an encoded image's header declares, read without decoding.

    Works in graphs and eagerly, never raises: int64 (2,), or ``[-1, -1]`` when the
    header is not one of JPEG, PNG, GIF, BMP or WebP, or is damaged (decoding will then
    say what is wrong). Reading the header first lets a decompression bomb (a small file
    declaring a huge image) be refused before any memory is spent on it; PIL can read
    headers too, but not inside a SavedModel's graph, and one definition serves both.
    """
    # Zero padding: reading past the end of a short file gives zeros, not an error.
    head = tf.strings.substr(encoded, 0, 32) + b"\0" * 32
    data = tf.io.decode_raw(head, tf.uint8)
    unknown = tf.constant([-1, -1], tf.int64)

    def vp8x():
        return tf.stack([_little_endian(data, 27, 3) + 1, _little_endian(data, 24, 3) + 1])

    def vp8l():
        bits = _little_endian(data, 21, 4)
        return tf.stack([(bits // 16384) % 16384 + 1, bits % 16384 + 1])

    def vp8():
        return tf.stack([_little_endian(data, 28, 2) % 16384, _little_endian(data, 26, 2) % 16384])

    def webp():
        chunk = tf.strings.substr(head, 12, 4)
        return tf.case(
            [
                (tf.equal(chunk, b"VP8X"), vp8x),
                (tf.equal(chunk, b"VP8L"), vp8l),
                (tf.equal(chunk, b"VP8 "), vp8),
            ],
            default=lambda: unknown,
        )

    def png():
        return tf.stack([_big_endian(data, 20, 4), _big_endian(data, 16, 4)])

    def gif():
        return tf.stack([_little_endian(data, 8, 2), _little_endian(data, 6, 2)])

    def bmp():
        # Height is negative for top-down bitmaps.
        height = _little_endian(data, 22, 4)
        height = tf.where(height >= 2**31, 2**32 - height, height)
        return tf.stack([height, _little_endian(data, 18, 4)])

    return tf.case(
        [
            (_is(encoded, PNG_SIGNATURE), png),
            (_is(encoded, b"GIF8"), gif),
            (_is(encoded, b"BM"), bmp),
            (_is(encoded, b"\xff\xd8\xff"), lambda: _jpeg_shape(encoded)),
            (
                _is(encoded, b"RIFF") & tf.equal(tf.strings.substr(head, 8, 4), b"WEBP"),
                webp,
            ),
        ],
        default=lambda: unknown,
    )


def decode_image_window(encoded, choose_window):
    """Decode only a window of an encoded image (see :func:`decode_image_bytes`).

    JPEG files are decoded with ``tf.io.decode_and_crop_jpeg``, which skips the work
    outside the window; other formats are decoded whole and then cut.

    Args:
        encoded: scalar string tensor, the file's bytes.
        choose_window: function of the image's int32 ``[height, width]`` returning the
            window's int32 ``[top, left]`` and ``[height, width]``.

    Returns:
        float32 tensor (window height, window width, 3), R, G, B in [0, 1].
    """

    def jpeg_window():
        offset, size = choose_window(tf.io.extract_jpeg_shape(encoded)[:2])
        window = tf.concat([offset, size], axis=0)
        image = tf.io.decode_and_crop_jpeg(encoded, window, channels=3)
        return tf.cast(image, tf.float32) / 255.0

    def other_window():
        image = decode_image_bytes(encoded)
        offset, size = choose_window(tf.shape(image)[:2])
        return tf.slice(image, tf.concat([offset, [0]], 0), tf.concat([size, [3]], 0))

    rgb = tf.cond(_is(encoded, _SIGNATURES[0][0]), jpeg_window, other_window)
    rgb.set_shape([None, None, 3])
    return rgb


def explain_undecodable(encoded):
    """A short reason why ``encoded`` could not be decoded (scalar string tensor)."""
    reason = tf.constant("not a JPEG, PNG, GIF, BMP or WebP image")
    for signature, name in reversed(_SIGNATURES):
        reason = tf.where(_is(encoded, signature), f"truncated or corrupt {name} data", reason)
    return tf.where(tf.equal(tf.strings.length(encoded), 0), "empty file", reason)


def _placeholder(spec):
    shape = [1 if size is None else size for size in spec.shape]
    return tf.zeros(shape, spec.dtype)


def try_process(name, encoded, process):
    """Run ``process(encoded)`` without letting a failure escape the ``tf.data`` epoch.

    Meant for ``Dataset.interleave``, which runs many of these one-element datasets in
    parallel; a failure is caught for this element alone and its name stays at hand.

    Args:
        name: scalar string tensor naming the image in messages.
        encoded: scalar string tensor, the image file's bytes.
        process: function of the encoded bytes returning a structure of tensors (for
            example decoding, cropping and colour conversion).

    Returns:
        A one-element dataset of ``(name, encoded, outputs, succeeded)``. When processing
        failed, ``succeeded`` is false and ``outputs`` are zeros of the same structure
        (unknown sizes set to 1); :func:`explain_undecodable` says why.
    """
    # A 1-tuple, so the structure of process's outputs survives map's argument unpacking.
    attempt = tf.data.Dataset.from_tensors(encoded).map(lambda e: (process(e),)).ignore_errors()
    fallback = tf.nest.map_structure(_placeholder, attempt.element_spec[0])
    succeeded = attempt.map(lambda outputs: (name, encoded, outputs, tf.constant(True)))
    failed = tf.data.Dataset.from_tensors((name, encoded, fallback, tf.constant(False)))
    # concatenate() starts the second dataset only if the first yields nothing.
    return succeeded.concatenate(failed).take(1)


def try_process_group(names, encoded, extras, process, output_signature):
    """:func:`try_process` for a group of images, with the guard's cost paid once.

    The whole group is processed in one guarded attempt; only if something in it fails
    is each image retried under its own guard. A broken file costs its group a second
    pass; every other group pays one guard instead of one per image.

    Args:
        names: string tensor (k,), names for messages.
        encoded: string tensor (k,), the files' bytes.
        extras: a structure of tensors with leading dimension k passed on to ``process``
            (for example per-image random seeds).
        process: function ``(encoded, extra) -> outputs`` for one image.
        output_signature: structure of ``tf.TensorSpec`` of ``process``'s outputs; the
            shapes must be fully known.

    Returns:
        A one-element dataset of ``(names, encoded, outputs, succeeded)``, all with
        leading dimension k in the group's order: ``succeeded`` (k,) bool says which
        images worked; the outputs of the others are zeros.
    """
    attempt = (
        tf.data.Dataset.from_tensors((encoded, extras))
        # A 1-tuple, so the structure of the outputs survives map's argument unpacking.
        .map(
            lambda data, extra: (
                tf.map_fn(
                    lambda element: process(*element),
                    (data, extra),
                    fn_output_signature=output_signature,
                    # Groups already run in parallel (interleave); one image at a time
                    # within a group avoids threads contending for the same cores.
                    parallel_iterations=1,
                ),
            )
        )
        .ignore_errors()
        .map(lambda outputs: (names, encoded, outputs, tf.fill(tf.shape(names), True)))
    )
    # Reached only when the attempt failed: concatenate() starts it lazily.
    one_by_one = (
        tf.data.Dataset.from_tensor_slices((names, encoded, extras))
        .flat_map(lambda name, data, extra: try_process(name, data, lambda e: process(e, extra)))
        .batch(tf.cast(tf.shape(names)[0], tf.int64))
    )
    return attempt.concatenate(one_by_one).take(1)
