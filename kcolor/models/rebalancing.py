"""Class rebalancing of colour targets (Zhang, Isola, Efros 2016, section 2.2).

Photos are mostly unsaturated, so a loss that counts every pixel alike teaches a model
that gray-ish is always a safe answer: colours come out faint. Rebalancing weighs each
training pixel by how rare its colour is in the training photos:

    w = 1 / ((1 - lambda) * p_smooth + lambda / Q),  scaled so that E_p[w] = 1

with ``p_smooth`` the empirical colour prior smoothed by a Gaussian over neighbouring
bins, ``Q`` the number of bins and ``lambda`` in (0, 1] mixing in a uniform prior (1: no
rebalancing; Zhang et al. use 0.5). The hypercolumn model's colours live on a joint
(hue bin, chroma bin) grid, so the prior and the weights are (hue bins, chroma bins)
arrays; hue is circular.
"""

import numpy as np
from keras import ops

from kcolor.errors import ConfigError


def _smooth(prior: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over bins: circular along hue (axis 0), clamped along chroma."""
    if sigma <= 0:
        return prior
    radius = int(np.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    hue_smoothed = sum(k * np.roll(prior, o, axis=0) for k, o in zip(kernel, offsets, strict=True))
    padded = np.pad(hue_smoothed, ((0, 0), (radius, radius)), mode="edge")
    columns = prior.shape[1]
    return sum(
        k * padded[:, radius + o : radius + o + columns]
        for k, o in zip(kernel, offsets, strict=True)
    )


def rebalancing_weights(prior, mix: float, sigma: float = 1.0) -> np.ndarray:
    """Per-bin loss weights from an empirical colour prior.

    Args:
        prior: float (hue bins, chroma bins), non-negative counts or probabilities.
        mix: lambda in (0, 1], the uniform prior's share.
        sigma: Gaussian smoothing of the prior, in bins (0: none).

    Returns:
        float32 (hue bins, chroma bins) weights, positive, with sum(p * w) = 1 for the
        normalized prior p (so the loss keeps its scale on average).
    """
    prior = np.asarray(prior, dtype="float64")
    if prior.ndim != 2 or prior.min() < 0 or prior.sum() <= 0:
        raise ConfigError("the colour prior must be a non-negative (hue, chroma) array")
    if not 0 < mix <= 1:
        raise ConfigError(f"rebalance must be in (0, 1]. Received: {mix}")
    probabilities = prior / prior.sum()
    smoothed = _smooth(probabilities, sigma)
    weights = 1.0 / ((1.0 - mix) * smoothed + mix / smoothed.size)
    weights /= (probabilities * weights).sum()
    return weights.astype("float32")


def count_colors(batches, encode_targets, bins: int, pixel_step: int = 4) -> np.ndarray:
    """Soft counts of the colours of ``batches`` on the (hue, chroma) bin grid.

    Args:
        batches: iterable of ``(l_norm, ab_norm)`` batches (float32 (B, H, W, 1) and
            (B, H, W, 2)).
        encode_targets: the model's colour code, ``(ab_norm, l_norm) -> (hue, chroma,
            ...)`` histograms (..., bins) (see :mod:`kcolor.models.histogram_codec`).
        pixel_step: every this many pixels along each side are counted.

    Returns:
        float64 (bins, bins): counts by (hue bin, chroma bin).
    """
    counts = np.zeros((bins, bins))
    for l_norm, ab_norm in batches:
        ab = ab_norm[:, ::pixel_step, ::pixel_step]
        l_sub = l_norm[:, ::pixel_step, ::pixel_step]
        hue, chroma, _, _ = encode_targets(ab, l_sub)
        hue = ops.reshape(hue, (-1, bins))
        chroma = ops.reshape(chroma, (-1, bins))
        counts += ops.convert_to_numpy(ops.matmul(ops.transpose(hue), chroma))
    return counts
