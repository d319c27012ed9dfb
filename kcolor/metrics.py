"""Colorization quality metrics, as TensorFlow ops on one image or a batch.

Every function takes RGB with channel order R, G, B, float in [0, 1] or uint8 in 0..255,
shape (H, W, 3) or (B, H, W, 3), and returns one value per image.
"""

import warnings

import tensorflow as tf

from kcolor import color

# The AuC of the ab-error CDF integrates thresholds from 0 to this many Lab units
# (Zhang et al. 2016's protocol).
AUC_MAX_ERROR = 150.0


def _as_uint8_levels(rgb):
    """float32 RGB in 0..255, rounded as an 8-bit file would store it."""
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        return tf.cast(rgb, tf.float32)
    return tf.round(tf.clip_by_value(tf.cast(rgb, tf.float32), 0.0, 1.0) * 255.0)


def psnr(result, reference):
    """Peak signal-to-noise ratio of 8-bit RGB, in dB (``tf.image.psnr``, max 255)."""
    return tf.image.psnr(_as_uint8_levels(result), _as_uint8_levels(reference), max_val=255.0)


def ssim(result, reference):
    """Structural similarity of 8-bit RGB (``tf.image.ssim`` defaults, max 255), in [-1, 1].

    Images smaller than its 11x11 window are compared with a window of their own size.
    """
    result, reference = _as_uint8_levels(result), _as_uint8_levels(reference)
    height, width = result.shape[-3], result.shape[-2]
    filter_size = min(11, height or 11, width or 11)
    return tf.image.ssim(result, reference, max_val=255.0, filter_size=filter_size)


def ab_error_auc(result, reference, max_error=AUC_MAX_ERROR, steps=151):
    """Area under the CDF of per-pixel ab errors, thresholds 0..max_error, in [0, 1].

    The ab error of a pixel is the Euclidean distance of the two colours' (a, b) in Lab
    units; the CDF at t is the share of pixels with error <= t. 1 means every pixel's
    colour is exact.
    """
    result_ab = color.rgb_to_lab(result)[..., 1:]
    reference_ab = color.rgb_to_lab(reference)[..., 1:]
    error = tf.sqrt(tf.reduce_sum(tf.square(result_ab - reference_ab), axis=-1))
    thresholds = tf.linspace(0.0, max_error, steps)
    below = tf.cast(error[..., None] <= thresholds, tf.float32)
    cdf = tf.reduce_mean(below, axis=[-3, -2])  # (..., steps)
    # Trapezoid rule over evenly spaced thresholds, divided by the range.
    return (tf.reduce_sum(cdf, axis=-1) - 0.5 * (cdf[..., 0] + cdf[..., -1])) / (steps - 1)


def colorfulness(rgb):
    """Hasler and Suesstrunk's colorfulness M of 8-bit RGB.

    With rg = R - G and yb = (R + G) / 2 - B over the pixels (0..255 scale),
    M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2). 0 for gray;
    typical photographs measure 20-50.
    """
    levels = _as_uint8_levels(rgb)
    red, green, blue = tf.unstack(levels, axis=-1)
    rg = red - green
    yb = 0.5 * (red + green) - blue
    axes = [-2, -1]
    spread = tf.sqrt(tf.math.reduce_variance(rg, axes) + tf.math.reduce_variance(yb, axes))
    mean = tf.sqrt(tf.square(tf.reduce_mean(rg, axes)) + tf.square(tf.reduce_mean(yb, axes)))
    return spread + 0.3 * mean


def sample_diversity(ab_norm_samples):
    """Mean pairwise ab distance between colourings of the same image, in Lab units.

    Unlike the functions above it takes the model's output, not RGB.

    Args:
        ab_norm_samples: float (B, S, H, W, 2) with S >= 2 colourings per image,
            channel order a, b, ``ab / 110``.

    Returns:
        float32 (B,): per image, the Euclidean ab distance averaged over pixels and over
        every pair of colourings.
    """
    ab = tf.cast(ab_norm_samples, tf.float32) * color.AB_SCALE
    count = ab.shape[1]
    if count is None or count < 2:
        raise ValueError(f"sample_diversity needs at least 2 colourings. Received: {count}")
    distances = [
        tf.reduce_mean(tf.norm(ab[:, i] - ab[:, j], axis=-1), axis=[1, 2])
        for i in range(count)
        for j in range(i + 1, count)
    ]
    return tf.reduce_mean(tf.stack(distances, axis=1), axis=1)


def colourfulness(rgb):
    """Deprecated alias of :func:`colorfulness` (removed in kcolor 0.3)."""
    warnings.warn("colourfulness is deprecated; use colorfulness", DeprecationWarning, stacklevel=2)
    return colorfulness(rgb)
