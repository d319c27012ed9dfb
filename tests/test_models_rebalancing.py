"""Class rebalancing of the hypercolumn model's colour targets."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kcolor.errors import ConfigError
from kcolor.models import HypercolumnColorizer
from kcolor.models.rebalancing import rebalancing_weights


def _prior(bins=8):
    rng = np.random.default_rng(0)
    prior = rng.uniform(0, 1, (bins, bins))
    prior[:, 0] += 50  # mostly gray, as photos are
    return prior


@pytest.mark.parametrize("mix", [0.1, 0.5, 1.0])
def test_weights_have_the_prior_shape_and_unit_expectation(mix):
    prior = _prior()
    weights = rebalancing_weights(prior, mix)
    assert weights.shape == prior.shape and weights.dtype == np.float32
    assert (weights > 0).all()
    assert (prior / prior.sum() * weights).sum() == pytest.approx(1.0, rel=1e-5)


def test_rare_colours_weigh_more_and_lambda_one_is_no_rebalancing():
    prior = _prior()
    weights = rebalancing_weights(prior, 0.5)
    assert weights[:, 0].max() < weights[:, 1:].min()
    np.testing.assert_allclose(rebalancing_weights(prior, 1.0), 1.0, rtol=1e-6)


def test_smoothing_wraps_around_the_hue_circle():
    prior = np.full((8, 4), 1e-6)
    prior[0, 2] = 1.0
    weights = rebalancing_weights(prior, 0.1, sigma=1.0)
    # The last hue bin is the first one's neighbour: it is as common as the second.
    assert weights[7, 2] == pytest.approx(weights[1, 2], rel=1e-5)
    assert weights[7, 2] < weights[4, 2]


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError):
        rebalancing_weights(_prior(), 0.0)
    with pytest.raises(ConfigError):
        rebalancing_weights(-_prior(), 0.5)
    with pytest.raises(ConfigError):
        HypercolumnColorizer(trunk_widths=[4, 8, 8, 8, 8], rebalance=1.5)


def _model(**overrides):
    keras.utils.set_random_seed(0)
    return HypercolumnColorizer(
        taps=["block1_conv2", "block2_conv2"], trunk_widths=[4, 8, 8, 8, 8], head_units=8,
        bins=8, sample_points=16, seed=0, dropout=0.0, **overrides,
    )  # fmt: skip


def _photos():
    rng = np.random.default_rng(1)
    l_norm = rng.uniform(-0.5, 0.5, (4, 16, 16, 1)).astype("float32")
    ab = np.zeros((4, 16, 16, 2), "float32")
    ab[:, :2] = [0.5, 0.3]  # a few saturated pixels among grays
    return tf.data.Dataset.from_tensor_slices((l_norm, ab)).batch(2)


def test_rebalanced_loss_weighs_the_rare_saturated_pixels_up():
    data = _photos()
    plain, rebalanced = _model(), _model(rebalance=0.5)
    with pytest.raises(ConfigError, match="estimate_color_prior"):
        rebalanced.compute_loss(*next(iter(data)), rebalanced(next(iter(data))[0], training=True))
    prior = rebalanced.estimate_color_prior(data)
    assert prior.shape == (8, 8) and prior.sum() > 0
    l_norm, ab = next(iter(data))
    saturated = np.broadcast_to(np.array([0.5, 0.3], "float32"), ab.shape)
    outputs = plain(l_norm, training=True)
    loss_plain = float(plain.compute_loss(l_norm, saturated, outputs))
    loss_rebalanced = float(rebalanced.compute_loss(l_norm, saturated, outputs))
    assert loss_rebalanced > 2 * loss_plain
    assert rebalanced.get_config()["rebalance"] == 0.5


def test_a_rebalanced_model_trains():
    model = _model(rebalance=0.5)
    model.estimate_color_prior(_photos())
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(_photos().repeat(), epochs=2, steps_per_epoch=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
