"""Image operations shared by the training pipeline and the colorize path.

Images are TensorFlow tensors, channel order R, G, B, in the value range they come in
(uint8 0..255 or float); shapes (H, W, C) or (B, H, W, C).
"""

import tensorflow as tf


def mean_chroma(ab):
    """Mean chroma sqrt(a^2 + b^2) of an image's ab planes, in the units of ``ab``.

    Args:
        ab: float32 (..., H, W, 2), channel order a, b.

    Returns:
        float32, one value per image. In Lab units: 0 for gray images, about 1 for the
        most muted colour photos in ImageNet, 10-30 for typical colour photos.
    """
    return tf.reduce_mean(tf.sqrt(tf.reduce_sum(ab * ab, axis=-1)), axis=[-2, -1])


def resize_image(rgb, size):
    """Resize an image (H, W, C) or batch (B, H, W, C) to ``size`` (height, width).

    Area averaging when shrinking on both axes (no aliasing, and cheaper than
    antialiased bilinear), bilinear otherwise (area would give blocks). Training and
    ``kcolor colorize`` both resize with this.
    """
    shape = tf.shape(rgb)[-3:-1]
    shrinking = tf.reduce_all(shape >= size)
    resized = tf.cond(
        shrinking,
        lambda: tf.image.resize(rgb, size, method="area"),
        lambda: tf.image.resize(rgb, size, method="bilinear"),
    )
    return resized
