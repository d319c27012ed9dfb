"""The hypercolumn model's colour code (Larsson et al. 2016): a colour as soft histograms
over hue and chroma bins (CIE LCh), and per-pixel histograms back to one colour.

``bins`` hue bins cover the circle, centred at ``2 pi (k + 1/2) / bins``; ``bins`` chroma
bins cover ``[0, max_chroma]`` in Lab units. ``ab_norm = ab / 110`` with channel order
a, b; ``l_norm = L / 50 - 1`` (:mod:`kcolor.color`).
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kcolor import color

DECODINGS = ("median", "expectation", "mode", "sample")


@dataclasses.dataclass(frozen=True)
class Decoding:
    """How histograms become one colour (see :func:`decode`).

    Attributes:
        method: "median", "expectation", "mode" or "sample" (the chroma's statistic).
        fading: chromatic fading threshold, or None for none.
        boost: scale of the final chroma.
        max_chroma: chroma of the last bin's far edge, Lab units.
    """

    method: str
    fading: float | None
    boost: float
    max_chroma: float


def hue_centres(bins: int) -> np.ndarray:
    """float32 (bins, 2): (cos, sin) of each hue bin's centre."""
    angles = 2.0 * math.pi * (np.arange(bins) + 0.5) / bins
    return np.stack([np.cos(angles), np.sin(angles)], -1).astype("float32")


def encode_targets(ab_norm, l_norm, bins: int, max_chroma: float, hue_weight: float):
    """Soft target histograms and loss weights for colours.

    Each colour's hue and chroma are spread linearly over their two nearest bin centres
    (hue circularly).

    Args:
        ab_norm: float (..., 2); l_norm: float (..., 1).
        hue_weight: weight of the hue term at full chroma.

    Returns:
        ``(hue_target, chroma_target, hue_weight, chroma_weight)``: (..., bins) x2 and
        (...,) x2.
    """
    ab = color.denormalize_ab(ab_norm)
    chroma = ops.sqrt(ops.sum(ops.square(ab), axis=-1) + 1e-12)
    hue = tf.math.atan2(ab[..., 1], ab[..., 0]) % (2.0 * math.pi)
    hue_target = soft_bins(hue / (2.0 * math.pi) * bins - 0.5, bins, circular=True)
    chroma_position = ops.clip(chroma / max_chroma, 0.0, 1.0) * bins - 0.5
    chroma_target = soft_bins(chroma_position, bins, circular=False)
    lightness = color.denormalize_l(l_norm)[..., 0] / color.L_MAX
    # The reference's weights: hue counts in proportion to the pixel's chroma (hue is
    # meaningless for grays); chroma counts less near black and white.
    hue_weights = hue_weight * ops.clip(chroma / max_chroma, 0.0, 1.0)
    chroma_weights = ops.minimum(ops.minimum(3.0 * lightness, 1.0), 3.0 * (1.0 - lightness))
    return hue_target, chroma_target, hue_weights, ops.maximum(chroma_weights, 0.0)


def histogram_loss(targets, hue_logits, chroma_logits, color_weights=None):
    """The paper's loss: KL divergence of the predicted hue and chroma histograms from the
    targets, weighted per pixel (hue by chroma, chroma by lightness).

    Args:
        targets: :func:`encode_targets`' four outputs for the pixels.
        hue_logits, chroma_logits: (..., bins) predicted logits.
        color_weights: (hue bins, chroma bins) rebalancing weights, or None; each pixel's
            weights are then scaled by its colour's rarity.

    Returns:
        A float32 scalar: the mean weighted hue term plus the mean weighted chroma term.
    """
    hue_target, chroma_target, hue_weight, chroma_weight = targets
    if color_weights is not None:
        rarity = ops.sum(ops.matmul(hue_target, color_weights) * chroma_target, -1)
        hue_weight, chroma_weight = hue_weight * rarity, chroma_weight * rarity
    hue_kl = kl_divergence(hue_target, ops.cast(hue_logits, "float32"))
    chroma_kl = kl_divergence(chroma_target, ops.cast(chroma_logits, "float32"))
    return ops.mean(hue_weight * hue_kl) + ops.mean(chroma_weight * chroma_kl)


def decode(hue_probs, chroma_probs, decoding: Decoding, seed=None):
    """Per-pixel histograms (..., bins) x2 -> ``ab_norm`` (..., 2).

    Hue is the circular mean of the hue histogram (the mode's bin for "mode", a draw for
    "sample"); chroma is the median ("median"), the mean ("expectation"), the mode or a
    draw. Chromatic fading then scales chroma by min(|z| / fading, 1), z the mean over
    bins of p_k e^(i theta_k), so uncertain hues fade towards gray; ``boost`` scales the
    result.

    Args:
        seed: the draws of "sample" (an int or a ``keras.random.SeedGenerator``).
    """
    bins = hue_probs.shape[-1]
    width = decoding.max_chroma / bins
    centres = ((np.arange(bins) + 0.5) * width).astype("float32")
    unit_hues = hue_centres(bins)
    z = ops.matmul(hue_probs, unit_hues)  # sum_k p_k (cos, sin)
    if decoding.method == "mode":
        direction = ops.take(unit_hues, ops.argmax(hue_probs, axis=-1), axis=0)
        chroma = ops.take(centres, ops.argmax(chroma_probs, -1), axis=0)
    elif decoding.method == "sample":
        direction = ops.take(unit_hues, sample_bins(hue_probs, seed), axis=0)
        chroma = ops.take(centres, sample_bins(chroma_probs, seed), 0)
    else:
        direction = z / (ops.norm(z, axis=-1, keepdims=True) + 1e-12)
        if decoding.method == "expectation":
            chroma = ops.sum(chroma_probs * centres, axis=-1)
        else:
            chroma = median(chroma_probs, width)
    if decoding.fading is not None:
        strength = ops.norm(z, axis=-1) / bins
        chroma = chroma * ops.minimum(strength / decoding.fading, 1.0)
    # expand_dims, not [..., None]: a new axis on a dynamic shape has no TFLite builtin.
    ab = direction * ops.expand_dims(chroma * decoding.boost, -1)
    return color.normalize_ab(ab)


def soft_bins(position, bins, circular):
    """Linear split of a continuous bin position over its two nearest bins."""
    low = ops.floor(position)
    fraction = position - low
    low = ops.cast(low, "int32")
    high = low + 1
    if circular:
        low, high = low % bins, high % bins
    else:
        low, high = ops.clip(low, 0, bins - 1), ops.clip(high, 0, bins - 1)
    return (
        ops.one_hot(low, bins) * (1.0 - fraction)[..., None]
        + ops.one_hot(high, bins) * fraction[..., None]
    )


def kl_divergence(target, logits):
    log_probs = ops.log_softmax(logits, axis=-1)
    entropy_term = ops.where(target > 0, target * ops.log(ops.maximum(target, 1e-12)), 0.0)
    return ops.sum(entropy_term - target * log_probs, axis=-1)


def median(probs, width):
    """Median of a histogram over bins [k * width, (k + 1) * width), interpolated within
    the bin where the cumulative probability crosses 1/2."""
    cumulative = ops.cumsum(probs, axis=-1)
    index = ops.sum(ops.cast(cumulative < 0.5, "int32"), axis=-1)
    index = ops.minimum(index, probs.shape[-1] - 1)
    index_column = ops.expand_dims(index, -1)  # not [..., None]: see decode
    below = ops.take_along_axis(cumulative, index_column, axis=-1)[..., 0]
    mass = ops.take_along_axis(probs, index_column, axis=-1)[..., 0]
    inside = ops.clip((0.5 - (below - mass)) / ops.maximum(mass, 1e-12), 0.0, 1.0)
    return (ops.cast(index, probs.dtype) + inside) * width


def sample_bins(probs, seed):
    flat = ops.reshape(probs, (-1, probs.shape[-1]))
    draws = keras.random.categorical(ops.log(ops.maximum(flat, 1e-12)), 1, seed=seed)
    return ops.reshape(draws, ops.shape(probs)[:-1])
