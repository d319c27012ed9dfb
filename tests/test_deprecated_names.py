"""kcolor 0.1's names keep working, with a DeprecationWarning, until kcolor 0.3."""

import numpy as np
import pytest

import kcolor
from kcolor import inference, metrics
from kcolor.models import gan


@pytest.mark.parametrize(
    "old, new",
    [
        ("batch", "kcolor.jobs"),
        ("bundled", "kcolor.models.presets"),
        ("callbacks", "kcolor.training.callbacks"),
        ("config", "kcolor.training.config"),
        ("decoding", "kcolor.data.decoding"),
        ("export", "kcolor.deploy.export"),
        ("serving", "kcolor.deploy.serving"),
        ("sources", "kcolor.data.sources"),
        ("tflite", "kcolor.deploy.tflite"),
        ("tfrecords", "kcolor.data.tfrecords"),
    ],
)
def test_moved_modules_answer_under_their_old_names(old, new):
    with pytest.warns(DeprecationWarning, match=f"kcolor.{old} moved to {new}"):
        module = getattr(kcolor, old)
    assert module.__name__ == new


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        kcolor.colour  # noqa: B018


def test_british_spellings_are_aliases_of_the_us_names():
    rgb = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype("float32")
    with pytest.warns(DeprecationWarning, match="use colorfulness"):
        old = metrics.colourfulness(rgb)
    np.testing.assert_array_equal(old, metrics.colorfulness(rgb))

    photo = np.full((4, 4, 3), 120, np.uint8)
    ab_norm = np.full((4, 4, 2), 0.2, np.float32)
    with pytest.warns(DeprecationWarning, match="use color_pixels"):
        old = inference.colour_pixels(photo, ab_norm)
    np.testing.assert_array_equal(old, inference.color_pixels(photo, ab_norm))

    generator = gan.DiverseColorGenerator(
        filters=[4], kernel_sizes=[3, 3], noise_channels=2, noise_layers=1
    )
    l_norm = np.zeros((1, 8, 8, 1), np.float32)
    with pytest.warns(DeprecationWarning, match="use sample_colorings"):
        old = gan.sample_colourings(generator, l_norm, 2, seed=3)
    np.testing.assert_array_equal(old, gan.sample_colorings(generator, l_norm, 2, seed=3))
