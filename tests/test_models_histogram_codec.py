"""The hypercolumn model's colour code on its own (the model's methods are tested in
test_models_hypercolumn.py): the loss, and decoding without a model."""

import numpy as np
import pytest

from kcolor import color
from kcolor.models import histogram_codec as codec

BINS, MAX_CHROMA = 16, 140.0


def _targets(ab, lightness=50.0):
    ab_norm = np.asarray(ab, "float32") / color.AB_SCALE
    l_norm = np.full(ab_norm.shape[:-1] + (1,), lightness / 50.0 - 1.0, "float32")
    return codec.encode_targets(ab_norm, l_norm, BINS, MAX_CHROMA, hue_weight=5.0)


def test_the_loss_is_zero_for_the_target_histograms_and_grows_away_from_them():
    targets = _targets([[40.0, 10.0], [-20.0, 35.0]])
    hue, chroma = (np.log(np.maximum(np.asarray(t), 1e-12)) for t in targets[:2])
    assert float(codec.histogram_loss(targets, hue, chroma)) == pytest.approx(0.0, abs=1e-5)
    uniform = np.zeros_like(hue)
    assert float(codec.histogram_loss(targets, uniform, uniform)) > 0.5


def test_rebalancing_weights_scale_the_loss_by_each_colours_rarity():
    targets = _targets([[40.0, 10.0]])
    uniform = np.zeros((1, BINS), "float32")
    plain = float(codec.histogram_loss(targets, uniform, uniform))
    doubled = np.full((BINS, BINS), 2.0, "float32")
    assert float(codec.histogram_loss(targets, uniform, uniform, doubled)) == pytest.approx(
        2 * plain, rel=1e-5
    )


def test_decoding_the_encoded_colour_gives_it_back():
    ab = np.array([[40.0, 10.0], [-20.0, 35.0], [5.0, -60.0]], "float32")
    hue, chroma, _, _ = _targets(ab)
    decoding = codec.Decoding("expectation", fading=None, boost=1.0, max_chroma=MAX_CHROMA)
    decoded = np.asarray(codec.decode(hue, chroma, decoding)) * color.AB_SCALE
    np.testing.assert_allclose(decoded, ab, atol=2.5)
