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
    is_png = tf.equal(tf.strings.substr(encoded, 0, len(_PNG_SIGNATURE)), _PNG_SIGNATURE)
    image = tf.cond(
        is_png,
        lambda: tf.cast(tf.io.decode_png(encoded, channels=0, dtype=tf.uint16), tf.float32)
        / 65535.0,
        lambda: tf.cast(
            tf.io.decode_image(encoded, channels=0, dtype=tf.uint8, expand_animations=False),
            tf.float32,
        )
        / 255.0,
    )
    channels = tf.shape(image)[-1]
    # One or two channels (gray, gray+alpha): the gray plane; three or four: RGB.
    rgb = tf.cond(
        channels < 3,
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
        lambda: image[..., :3],
    )
    rgb.set_shape([None, None, 3])
    return rgb


def explain_undecodable(encoded):
    """A short reason why ``encoded`` could not be decoded (scalar string tensor)."""
    reason = tf.constant("not a JPEG, PNG, GIF, BMP or WebP image")
    for signature, name in reversed(_SIGNATURES):
        matches = tf.equal(tf.strings.substr(encoded, 0, len(signature)), signature)
        reason = tf.where(matches, f"truncated or corrupt {name} data", reason)
    return tf.where(tf.equal(tf.strings.length(encoded), 0), "empty file", reason)


def decode_or_explain(name, load_encoded):
    """Decode one image without letting a failure escape; for use in ``interleave``.

    Args:
        name: scalar string tensor naming the image in messages.
        load_encoded: function of ``name`` returning the encoded bytes (for example
            ``tf.io.read_file``), run inside the guard so unreadable files are caught too.

    Returns:
        A one-element dataset of ``(name, rgb, problem)``: ``rgb`` float32 (H, W, 3) in
        [0, 1] and ``problem`` an empty string when decoding worked; otherwise ``rgb`` is
        a 1x1 black placeholder and ``problem`` says what went wrong.
    """
    decoded = (
        tf.data.Dataset.from_tensors(name)
        .map(lambda n: decode_image_bytes(load_encoded(n)))
        .ignore_errors()
        .map(lambda rgb: (name, rgb, tf.constant("")))
    )

    def explain(n):
        return n, tf.zeros([1, 1, 3], tf.float32), explain_undecodable(load_encoded(n))

    # Reached only when decoding failed: concatenate() starts the second dataset lazily.
    explained = tf.data.Dataset.from_tensors(name).map(explain).ignore_errors()
    unreadable = tf.data.Dataset.from_tensors(
        (name, tf.zeros([1, 1, 3], tf.float32), tf.constant("file cannot be read"))
    )
    return decoded.concatenate(explained).concatenate(unreadable).take(1)
