"""kcolor.video.temporal: flow, its check, colour carried along it, cuts, flicker."""

import numpy as np
import pytest
from helpers.videos import textured_photo

from kcolor.errors import ConfigError
from kcolor.video import temporal

SHIFT = 3  # pixels the content moves right per frame


def gray_of(rgb):
    return rgb.mean(axis=-1).astype(np.uint8)


@pytest.fixture(scope="module")
def scene():
    """A pan: gray frames, and the scene's true colour moving with them (ab_norm)."""
    photo = textured_photo(64, 140, seed=1)
    color = (textured_photo(64, 140, seed=2).astype(np.float32) / 255 - 0.5)[..., :2]
    # frame k shows columns [60 - 3k, 140 - 3k): content moves right by 3 per frame
    grays = [gray_of(photo[:, 60 - SHIFT * k : 140 - SHIFT * k]) for k in range(8)]
    colours = [color[:, 60 - SHIFT * k : 140 - SHIFT * k].copy() for k in range(8)]
    return grays, colours


def test_flow_finds_the_motion_and_trusts_it_except_where_pixels_enter(scene):
    grays, _ = scene
    estimator = temporal.ColorMemory()._estimator
    backward = temporal.flow(grays[0], grays[1], estimator)
    forward = estimator.calc(grays[0], grays[1], None)
    middle = backward[8:-8, 16:-8]
    assert np.median(middle[..., 0]) == pytest.approx(-SHIFT, abs=0.3)
    assert np.median(np.abs(middle[..., 1])) < 0.3
    confidence = temporal.flow_confidence(backward, forward)
    assert confidence[8:-8, 16:-8].mean() > 0.8
    assert confidence[:, :2].mean() < 0.5  # entered the frame: nothing to follow


def test_warp_moves_values_along_the_flow():
    values = np.zeros((10, 10, 2), np.float32)
    values[4, 4] = 1.0
    backward = np.zeros((10, 10, 2), np.float32)
    backward[..., 0] = -2.0  # every pixel was 2 columns further left
    moved = temporal.warp(values, backward)
    assert moved[4, 6, 0] == pytest.approx(1.0) and moved[4, 4, 0] == pytest.approx(0.0)


def test_fusion_cuts_flicker_from_noisy_predictions(scene):
    grays, colours = scene
    rng = np.random.default_rng(0)
    noisy = [
        c + rng.normal(0, 0.05, (1, 1, 2)).astype(np.float32) for c in colours
    ]  # per-frame tint jitter
    memory = temporal.ColorMemory(strength=0.8)
    fused = [memory.color(g, lambda n=n: n) for g, n in zip(grays, noisy, strict=True)]
    flicker_alone = temporal.warping_error(noisy, grays)
    flicker_fused = temporal.warping_error(fused, grays)
    assert flicker_fused < 0.6 * flicker_alone
    assert temporal.warping_error(colours, grays) < 0.3 * flicker_alone  # true colour: still
    assert memory.cuts == 0


def test_a_cut_resets_the_memory(scene):
    grays, colours = scene
    other = gray_of(textured_photo(64, 80, seed=7))
    memory = temporal.ColorMemory()
    memory.color(grays[0], lambda: colours[0])
    after_cut = np.full_like(colours[0], 0.3)
    result = memory.color(other, lambda: after_cut)
    assert memory.cuts == 1
    np.testing.assert_array_equal(result, after_cut)


def test_between_keyframes_colour_is_carried_without_predicting(scene):
    grays, colours = scene
    memory = temporal.ColorMemory()
    memory.color(grays[0], lambda: colours[0])
    calls = []
    carried = memory.color(grays[1], lambda: calls.append(1), keyframe=False)
    assert calls == []
    inside = np.s_[8:-8, 16:-8]
    assert np.abs(carried[inside] - colours[1][inside]).mean() < 0.02


def test_settings_out_of_range_are_refused():
    with pytest.raises(ConfigError, match="strength"):
        temporal.ColorMemory(strength=1.0)
    with pytest.raises(ConfigError, match="cut_below"):
        temporal.ColorMemory(cut_below=2)
    assert np.isnan(temporal.warping_error([np.zeros((4, 4, 2))], [np.zeros((4, 4), np.uint8)]))
