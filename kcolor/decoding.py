"""Decoding encoded images inside TensorFlow graphs, and skipping the ones that fail.

TensorFlow's decoders raise on bad data, and a raised error ends a ``tf.data`` epoch.
``Dataset.ignore_errors`` keeps the epoch alive but its log does not say which file
failed. :func:`decode_or_explain` therefore decodes each element inside its own
one-element dataset, so a failure is caught per file and the file's name stays at hand
for the warning; no maintained library offers this for ``tf.data``.
"""

import tensorflow as tf

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Leading bytes of the formats tf.io.decode_image reads; used only to explain a failure.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (_PNG_SIGNATURE, "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"RIFF", "WebP"),
)


def _is(encoded, signature):
    return tf.equal(tf.strings.substr(encoded, 0, len(signature)), signature)


def _to_rgb(image):
    channels = tf.shape(image)[-1]
    # One or two channels (gray, gray+alpha): the gray plane; three or four: RGB.
    rgb = tf.cond(
        channels < 3,
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
        lambda: image[..., :3],
    )
    rgb.set_shape([None, None, 3])
    return rgb


def _decode_whole(encoded):
    # PNG goes through decode_png at 16 bits so 16-bit files keep their precision (8-bit
    # ones scale exactly); decode_image reads WebP only as uint8, so the rest use that.
    image = tf.cond(
        _is(encoded, _PNG_SIGNATURE),
        lambda: tf.cast(tf.io.decode_png(encoded, channels=0, dtype=tf.uint16), tf.float32)
        / 65535.0,
        lambda: tf.cast(
            tf.io.decode_image(encoded, channels=0, dtype=tf.uint8, expand_animations=False),
            tf.float32,
        )
        / 255.0,
    )
    return _to_rgb(image)


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
    return _decode_whole(encoded)


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
        image = _decode_whole(encoded)
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


def decode_or_explain(name, payload, load_encoded, process):
    """Run ``process(load_encoded(payload))`` without letting a failure escape.

    Meant for ``Dataset.interleave``, which runs many of these in parallel.

    Args:
        name: scalar string tensor naming the image in messages.
        payload: what ``load_encoded`` reads, e.g. a path, or the bytes themselves.
        load_encoded: function of ``payload`` returning the encoded bytes (for example
            ``tf.io.read_file``); it runs inside the guard, so unreadable files are caught.
        process: function of the encoded bytes returning a structure of tensors (for
            example decoding, cropping and colour conversion).

    Returns:
        A one-element dataset of ``(name, outputs, problem)``: ``problem`` is an empty
        string when everything worked; otherwise it says what went wrong and ``outputs``
        are zeros of the same structure (unknown sizes set to 1).
    """
    # A 1-tuple, so the structure of process's outputs survives map's argument unpacking.
    processed = (
        tf.data.Dataset.from_tensors(payload)
        .map(lambda p: (process(load_encoded(p)),))
        .ignore_errors()
    )
    fallback = tf.nest.map_structure(_placeholder, processed.element_spec[0])
    succeeded = processed.map(lambda outputs: (name, outputs, tf.constant("")))
    # Reached only when processing failed: concatenate() starts the next dataset lazily.
    explained = (
        tf.data.Dataset.from_tensors(payload)
        .map(lambda p: (name, fallback, explain_undecodable(load_encoded(p))))
        .ignore_errors()
    )
    unreadable = tf.data.Dataset.from_tensors((name, fallback, tf.constant("cannot be read")))
    return succeeded.concatenate(explained).concatenate(unreadable).take(1)
