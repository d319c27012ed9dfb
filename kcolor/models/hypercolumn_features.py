"""What the hypercolumn model reads from its trunk: the gray input each kind of trunk
expects, and its feature maps sampled at pixels (training) or brought to the output grid
(inference).

``l_norm = L / 50 - 1`` (B, H, W, 1) (:mod:`kcolor.color`); feature maps are (B, h, w, C).
"""

import keras
import tensorflow as tf
from keras import ops

from kcolor import color

# Caffe-style VGG input: BGR in 0..255 minus the ImageNet channel means (B, G, R).
_VGG_BGR_MEANS = (103.939, 116.779, 123.68)


def _gray(l_norm):
    """``L_norm`` (B, H, W, 1) -> the sRGB gray of the same lightness (Lab (L, 0, 0)),
    in [0, 1], (B, H, W, 1): what a trunk trained on RGB photos is shown."""
    lightness = color.denormalize_l(l_norm)
    zeros = ops.zeros_like(lightness)
    return color.lab_to_rgb(ops.concatenate([lightness, zeros, zeros], -1))[..., :1]


@keras.saving.register_keras_serializable(package="kcolor")
class GrayToVGGInput(keras.layers.Layer):
    """``L_norm`` (B, H, W, 1) -> the gray image as VGG16's caffe-style input (B, H, W, 3):
    the sRGB gray (:func:`_gray`) in 0..255, repeated into the three channels, minus the
    ImageNet BGR means."""

    def call(self, l_norm):
        bgr = ops.repeat(_gray(l_norm) * 255.0, 3, axis=-1)
        return bgr - ops.convert_to_tensor(_VGG_BGR_MEANS, dtype=bgr.dtype)


@keras.saving.register_keras_serializable(package="kcolor")
class GrayToUnitRangeInput(keras.layers.Layer):
    """``L_norm`` (B, H, W, 1) -> the sRGB gray (:func:`_gray`) in [-1, 1], repeated into
    three channels (B, H, W, 3): the MobileNets' input (their ``preprocess_input``)."""

    def call(self, l_norm):
        return ops.repeat(_gray(l_norm) * 2.0 - 1.0, 3, axis=-1)


INPUT_LAYERS = {"caffe": GrayToVGGInput, "tf": GrayToUnitRangeInput}


def bilinear_sample(features, points, stride):
    """Sample a feature map at input-pixel points by bilinear interpolation.

    Uses the half-pixel convention of ``tf.image.resize``: feature cell i covers input
    pixels [i * stride, (i + 1) * stride), so sampling every pixel equals a bilinear
    upsampling of the map. Points outside the map's cell centres are clamped to the edge.

    Args:
        features: float (B, h, w, C).
        points: float32 (B, K, 2), (y, x) in input pixels, pixel centres at integers.
        stride: input pixels per feature cell.

    Returns:
        float (B, K, C).
    """
    shape = tf.shape(features)
    limits = tf.cast(shape[1:3] - 1, points.dtype)
    grid = tf.clip_by_value((points + 0.5) / stride - 0.5, 0.0, limits)
    low = tf.floor(grid)
    fraction = tf.cast(grid - low, features.dtype)
    low = tf.cast(low, tf.int32)
    high = tf.minimum(low + 1, shape[1:3] - 1)

    def gather(y, x):
        return tf.gather_nd(features, tf.stack([y, x], axis=-1), batch_dims=1)

    fy, fx = fraction[..., :1], fraction[..., 1:]
    top = gather(low[..., 0], low[..., 1]) * (1 - fx) + gather(low[..., 0], high[..., 1]) * fx
    bottom = gather(high[..., 0], low[..., 1]) * (1 - fx) + gather(high[..., 0], high[..., 1]) * fx
    return top * (1 - fy) + bottom * fy


def to_grid(features, stride, grid_stride, grid_size):
    """Bring a feature map to the output grid: average finer maps, interpolate coarser.

    Trunks that pad before a strided convolution (the MobileNets) round map sizes up
    where VGG16's poolings round down, so a map at or finer than the grid can hold one
    more row or column than the grid on sides that are not multiples of its stride; it
    is cropped to the grid.
    """
    if stride > grid_stride:
        return ops.cast(tf.image.resize(features, grid_size, method="bilinear"), features.dtype)
    if stride < grid_stride:
        factor = grid_stride // stride
        features = tf.nn.avg_pool2d(features, factor, factor, "VALID")
    return features[:, : grid_size[0], : grid_size[1]]
