"""Composing the output: predicted ab, resized to the photo, joined with the photo's own
full-resolution lightness and converted to RGB, in strips of rows."""

import numpy as np
import tensorflow as tf

from kcolor import color
from kcolor.inference.reading import STRIP_ROWS


def color_pixels(rgb, ab_norm):
    """Replace the colour of ``rgb``'s pixels by ``ab_norm``, keeping their lightness.

    Args:
        rgb: uint8 tensor (..., 3), channel order R, G, B (only its Lab L is used).
        ab_norm: float tensor (..., 2), channel order a, b, ``ab / 110``; same leading
            shape.

    Returns:
        float32 tensor (..., 3), R, G, B in [0, 1] (:func:`to_uint8` gives the levels
        that are saved).
    """
    lightness = color.rgb_to_lab(rgb)[..., :1]
    ab = color.denormalize_ab(ab_norm)
    return color.lab_to_rgb(tf.concat([lightness, ab], axis=-1))


def gray_from_lightness(lightness):
    """Lab L in [0, 100] (..., 1) -> the uint8 gray sRGB (..., 3) with that lightness."""
    lightness = tf.cast(lightness, tf.float32)
    neutral = tf.concat([lightness, tf.zeros_like(lightness), tf.zeros_like(lightness)], -1)
    return to_uint8(color.lab_to_rgb(neutral))


def to_uint8(rgb):
    """float RGB in [0, 1] -> uint8 0..255, rounded as :func:`read_image` does."""
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 1.0) * 255.0), tf.uint8)


def compose(rgb: np.ndarray, ab_norm) -> np.ndarray:
    """Join the full-resolution lightness of ``rgb`` with ``ab_norm`` resized to it.

    Args:
        rgb: uint8 (H, W, 3), the photo (only its Lab L is used).
        ab_norm: float (h, w, 2), predicted at the processing size.

    Returns:
        uint8 (H, W, 3) RGB, the same size as ``rgb``.
    """
    height, width = rgb.shape[:2]
    ab_norm = tf.convert_to_tensor(np.asarray(ab_norm, np.float32))
    columns = _bilinear_axis(width, ab_norm.shape[1], 0, width)
    output = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, height)
        rows = _bilinear_axis(height, ab_norm.shape[0], top, bottom)
        output[top:bottom] = _colorized_strip(rgb[top:bottom], ab_norm, *rows, *columns).numpy()
    return output


def _bilinear_axis(size_out: int, size_in: int, start: int, stop: int):
    """Source indices and weights of outputs ``start..stop`` along one axis, computed in
    float32 exactly as TensorFlow's bilinear resize (half-pixel centres) does."""
    scale = np.float32(size_in) / np.float32(size_out)
    half = np.float32(0.5)
    position = (np.arange(start, stop, dtype=np.float32) + half) * scale - half
    low = np.floor(position)
    fraction = (position - low).astype(np.float32)
    low = low.astype(np.int64)
    return np.clip(low, 0, size_in - 1), np.clip(low + 1, 0, size_in - 1), fraction


def _interpolate(ab_norm, row_low, row_high, row_fraction, col_low, col_high, col_fraction):
    """Bilinear interpolation of ``ab_norm`` (h, w, C) at the given source indices and
    weights (:func:`_bilinear_axis`): float32 (rows, columns, C)."""
    col_fraction = col_fraction[None, :, None]

    def along_columns(rows):
        left, right = tf.gather(rows, col_low, axis=1), tf.gather(rows, col_high, axis=1)
        return left + (right - left) * col_fraction

    upper = along_columns(tf.gather(ab_norm, row_low))
    lower = along_columns(tf.gather(ab_norm, row_high))
    return upper + (lower - upper) * row_fraction[:, None, None]


def upsample_rows(ab_norm, height: int, width: int, top: int, bottom: int):
    """Rows ``top..bottom`` of ``tf.image.resize(ab_norm, (height, width))`` (bilinear),
    equal to it bit for bit, without making the whole (height, width) result.

    ``tf.image.resize`` can only produce the whole image, which for a 100-megapixel photo
    is 800 MB of float ab; :func:`compose` needs it one strip of rows at a time.

    Args:
        ab_norm: float32 (h, w, C).

    Returns:
        float32 tensor (bottom - top, width, C).
    """
    ab_norm = tf.convert_to_tensor(ab_norm, tf.float32)
    rows = _bilinear_axis(height, ab_norm.shape[0], top, bottom)
    columns = _bilinear_axis(width, ab_norm.shape[1], 0, width)
    return _interpolate(ab_norm, *rows, *columns)


_INDICES = tf.TensorSpec([None], tf.int64)
_WEIGHTS = tf.TensorSpec([None], tf.float32)


# One graph for every strip size: run eagerly, the Lab conversions' dozens of small ops
# took about twice as long (docs/results.md).
@tf.function(
    input_signature=[
        tf.TensorSpec([None, None, 3], tf.uint8),
        tf.TensorSpec([None, None, 2], tf.float32),
        *(_INDICES, _INDICES, _WEIGHTS) * 2,
    ]
)
def _colorized_strip(rgb, ab_norm, *axes):
    """uint8 RGB of a strip of the photo ``rgb`` coloured with ``ab_norm`` interpolated at
    the strip's rows and all columns (``axes``: see :func:`_interpolate`)."""
    ab_rows = _interpolate(ab_norm, *axes)
    return to_uint8(color_pixels(rgb, ab_rows))
