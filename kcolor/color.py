"""Colour-space conversions and the model normalisation, as TensorFlow ops.

Every function here takes and returns float32 tensors whose last axis is the colour
channel, so one image (H, W, C), a batch (B, H, W, C) or a list of pixels (N, C) all work.
The functions use only elementwise TensorFlow ops (no numpy, no ``py_function``), so
they run inside ``tf.data``, are differentiable, and export to SavedModel and TFLite
with builtin ops.

Conventions (they match ``skimage.color``):

* RGB: sRGB with the standard transfer curve, channel order R, G, B, float in [0, 1]
  (uint8 in 0..255 is accepted by :func:`rgb_to_lab` and converted).
* Lab: CIE 1976 L*a*b*, D65 white point, 2-degree observer, channel order L, a, b;
  L in [0, 100], a and b roughly in [-110, 110] for sRGB colours.
* LCh: channel order L, C, h; C = hypot(a, b) >= 0, h = atan2(b, a) in radians,
  in (-pi, pi].
* Model side: ``L_norm = L / 50 - 1`` in [-1, 1] and ``ab_norm = ab / 110`` roughly in
  [-1, 1]. These constants are defined here and nowhere else.
"""

import numpy as np
import tensorflow as tf

# sRGB (linear) -> XYZ for D65, the matrix skimage.color uses.
_XYZ_FROM_LINEAR_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
# D65 reference white (2-degree observer), X, Y, Z.
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
# Linear RGB -> XYZ / white, as a right-multiplied matrix (pixels are row vectors).
_WHITE_XYZ_FROM_LINEAR_RGB = (_XYZ_FROM_LINEAR_RGB / _D65_WHITE[:, None]).T
_LINEAR_RGB_FROM_WHITE_XYZ = np.linalg.inv(_WHITE_XYZ_FROM_LINEAR_RGB)
# (f(X/Xn), f(Y/Yn), f(Z/Zn)) -> (L + 16, a, b): L = 116 fy - 16, a = 500 (fx - fy),
# b = 200 (fy - fz).
_LAB_FROM_F = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]])
_F_FROM_LAB = np.linalg.inv(_LAB_FROM_F)
_LAB_SHIFT = np.array([16.0, 0.0, 0.0])

# Piecewise constants of the sRGB transfer curve and of the CIE Lab function f(t).
_SRGB_LINEAR_LIMIT = 0.04045
_SRGB_LINEAR_LIMIT_DECODED = 0.0031308
_LAB_EPSILON = 0.008856
_LAB_KAPPA_SLOPE = 7.787
_LAB_OFFSET = 16.0 / 116.0
_LAB_F_LIMIT = 0.2068966  # f(_LAB_EPSILON), where lab_to_xyz switches branch.

# Model normalisation: L_norm = L / L_SCALE - 1, ab_norm = ab / AB_SCALE.
L_SCALE = 50.0
AB_SCALE = 110.0
L_MAX = 100.0


def _as_float_image(image):
    """float32 tensor; uint8 input (0..255) is rescaled to [0, 1]."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) / 255.0
    return tf.cast(image, tf.float32)


def _times_matrix(pixels, matrix):
    """Right-multiply each pixel's channel vector by ``matrix`` (3x3), any leading shape.

    One matmul over all pixels: several times faster on CPU than per-channel sums, and
    it converts to TFLite's builtin RESHAPE and FULLY_CONNECTED/BATCH_MATMUL.
    """
    return tf.tensordot(pixels, tf.constant(matrix, tf.float32), axes=[[-1], [0]])


def _positive_power(base, exponent):
    # exp(p log x) is about five times faster than tf.pow on CPU; the callers keep the
    # base above a small positive limit, where the two agree to float32 rounding.
    return tf.exp(exponent * tf.math.log(base))


def _select(condition, if_true, if_false):
    """Elementwise choice between same-shaped tensors.

    The v1 ``Select`` kernel, because ``tf.where`` (``SelectV2``, with broadcasting) is
    about six times slower on CPU for same-shaped operands; both are TFLite builtins.
    """
    return tf.raw_ops.Select(condition=condition, x=if_true, y=if_false)


def _srgb_to_linear(rgb):
    # The unused branch of a select still gets gradients, so keep the base positive.
    curved = _positive_power((tf.maximum(rgb, _SRGB_LINEAR_LIMIT) + 0.055) / 1.055, 2.4)
    return _select(rgb > _SRGB_LINEAR_LIMIT, curved, rgb / 12.92)


def _linear_to_srgb(linear):
    curved = 1.055 * _positive_power(tf.maximum(linear, _SRGB_LINEAR_LIMIT_DECODED), 1 / 2.4)
    return _select(linear > _SRGB_LINEAR_LIMIT_DECODED, curved - 0.055, linear * 12.92)


def _lab_f(t):
    cube_root = _positive_power(tf.maximum(t, _LAB_EPSILON), 1.0 / 3.0)
    return _select(t > _LAB_EPSILON, cube_root, _LAB_KAPPA_SLOPE * t + _LAB_OFFSET)


def _lab_f_inverse(f):
    return _select(f > _LAB_F_LIMIT, f * f * f, (f - _LAB_OFFSET) / _LAB_KAPPA_SLOPE)


def _linear_rgb(rgb):
    """Linear-light RGB (float32) of sRGB ``rgb``, uint8 or float in [0, 1].

    uint8 has 256 levels: their linear values are computed once per call and looked
    up, which costs a fraction of the power function on every pixel of a full-size photo.
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        levels = _srgb_to_linear(tf.range(256, dtype=tf.float32) / 255.0)
        return tf.gather(levels, tf.cast(rgb, tf.int32))
    return _srgb_to_linear(_as_float_image(rgb))


def _rgb_to_scaled_lab(rgb, scale, offset):
    """``Lab * scale + offset`` per channel, with the scaling folded into the last matmul."""
    linear = _linear_rgb(rgb)
    relative_xyz = _times_matrix(linear, _WHITE_XYZ_FROM_LINEAR_RGB)
    shift = (offset - _LAB_SHIFT * scale).astype(np.float32)
    return _times_matrix(_lab_f(relative_xyz), _LAB_FROM_F * scale) + shift


def rgb_to_lab(rgb):
    """Convert sRGB to CIE Lab (D65).

    Args:
        rgb: tensor (..., 3), channel order R, G, B; float in [0, 1] or uint8 in 0..255.

    Returns:
        float32 tensor (..., 3), channel order L, a, b; L in [0, 100], a and b roughly
        in [-110, 110]. Matches ``skimage.color.rgb2lab`` to about 1e-4.
    """
    return _rgb_to_scaled_lab(rgb, np.ones(3), np.zeros(3))


def lab_to_rgb(lab):
    """Convert CIE Lab (D65) to sRGB.

    Lab values outside the sRGB gamut are mapped as ``skimage.color.lab2rgb`` maps them:
    a negative Z is clipped to 0 and the resulting RGB is clipped to [0, 1].

    Args:
        lab: float tensor (..., 3), channel order L, a, b; L in [0, 100].

    Returns:
        float32 tensor (..., 3), channel order R, G, B, in [0, 1].
    """
    lab = tf.cast(lab, tf.float32)
    f = _times_matrix(lab + _LAB_SHIFT.astype(np.float32), _F_FROM_LAB)
    # skimage clips a negative Z (very saturated blue-free colours) to 0 before inverting.
    f = tf.maximum(f, [-np.inf, -np.inf, 0.0])
    linear = _times_matrix(_lab_f_inverse(f), _LINEAR_RGB_FROM_WHITE_XYZ)
    return tf.clip_by_value(_linear_to_srgb(linear), 0.0, 1.0)


def lab_to_lch(lab):
    """Convert Lab to cylindrical LCh.

    Args:
        lab: float tensor (..., 3), channel order L, a, b.

    Returns:
        float32 tensor (..., 3), channel order L, C, h: L unchanged, chroma
        C = sqrt(a^2 + b^2) >= 0, hue h = atan2(b, a) in radians in (-pi, pi]
        (h = 0 where C = 0). Gradients are finite everywhere, including C = 0.
    """
    lab = tf.cast(lab, tf.float32)
    lightness, a, b = tf.unstack(lab, num=3, axis=-1)
    squared = a * a + b * b
    has_chroma = squared > 0.0
    # Substitute a harmless point where chroma is 0: sqrt and atan2 have no finite
    # gradient there, and a select would otherwise propagate NaN into the gradient.
    safe_squared = _select(has_chroma, squared, tf.ones_like(squared))
    safe_a = _select(has_chroma, a, tf.ones_like(a))
    safe_b = _select(has_chroma, b, tf.zeros_like(b))
    chroma = _select(has_chroma, tf.sqrt(safe_squared), tf.zeros_like(squared))
    hue = _select(has_chroma, tf.atan2(safe_b, safe_a), tf.zeros_like(squared))
    return tf.stack([lightness, chroma, hue], axis=-1)


def lch_to_lab(lch):
    """Convert cylindrical LCh back to Lab.

    Args:
        lch: float tensor (..., 3), channel order L, C, h; hue in radians (any real value).

    Returns:
        float32 tensor (..., 3), channel order L, a, b.
    """
    lch = tf.cast(lch, tf.float32)
    lightness, chroma, hue = tf.unstack(lch, num=3, axis=-1)
    return tf.stack([lightness, chroma * tf.cos(hue), chroma * tf.sin(hue)], axis=-1)


def normalize_l(lightness):
    """L in [0, 100] -> model input L_norm = L / 50 - 1 in [-1, 1]."""
    return tf.cast(lightness, tf.float32) / L_SCALE - 1.0


def denormalize_l(l_norm):
    """Model L_norm in [-1, 1] -> L in [0, 100]."""
    return (tf.cast(l_norm, tf.float32) + 1.0) * L_SCALE


def normalize_ab(ab):
    """ab in about [-110, 110] -> model target ab_norm = ab / 110, about [-1, 1]."""
    return tf.cast(ab, tf.float32) / AB_SCALE


def denormalize_ab(ab_norm):
    """Model ab_norm (about [-1, 1]) -> ab in Lab units."""
    return tf.cast(ab_norm, tf.float32) * AB_SCALE


def rgb_to_model_lab(rgb):
    """sRGB image(s) -> normalised ``(L_norm, ab_norm)`` as models consume them.

    Args:
        rgb: tensor (..., 3), R, G, B in [0, 1] (or uint8 0..255).

    Returns:
        ``(L_norm, ab_norm)``: float32 tensors (..., 1) in [-1, 1] and (..., 2) in
        about [-1, 1], channel order a, b.
    """
    # The normalisation is folded into the conversion's last matrix: one pass fewer.
    scale = np.array([1.0 / L_SCALE, 1.0 / AB_SCALE, 1.0 / AB_SCALE])
    lab_norm = _rgb_to_scaled_lab(rgb, scale, np.array([-1.0, 0.0, 0.0]))
    return lab_norm[..., :1], lab_norm[..., 1:]


def model_lab_to_rgb(l_norm, ab_norm):
    """Normalised ``(L_norm, ab_norm)`` -> sRGB in [0, 1] (out-of-gamut clipped).

    Args:
        l_norm: float tensor (..., 1), L / 50 - 1.
        ab_norm: float tensor (..., 2), ab / 110, channel order a, b; same leading shape.

    Returns:
        float32 tensor (..., 3), R, G, B in [0, 1].
    """
    lab = tf.concat([denormalize_l(l_norm), denormalize_ab(ab_norm)], axis=-1)
    return lab_to_rgb(lab)
