"""Every model round-trips its config and a .keras file, in both precision policies."""

import numpy as np
import pytest
from helpers.serialization import run_serialization_test

from kcolor.models import (
    ColorCritic,
    DiverseColorGAN,
    DiverseColorGenerator,
    GuidedColorGenerator,
    HypercolumnColorizer,
)

TINY_TRUNK = [4, 8, 8, 8, 8]
RNG = np.random.default_rng(0)
L_NORM = RNG.uniform(-1, 1, (1, 16, 16, 1)).astype("float32")
NOISE = RNG.uniform(-1, 1, (1, 2)).astype("float32")
AB_NORM = RNG.uniform(-0.3, 0.3, (1, 16, 16, 2)).astype("float32")


def _hypercolumn(dtype):
    return HypercolumnColorizer(
        taps=["block1_conv2", "block2_conv2"], trunk_widths=TINY_TRUNK, head_units=8, bins=8,
        seed=0, dtype=dtype,
    )  # fmt: skip


def _generator(dtype, guided=False):
    return DiverseColorGenerator(
        filters=[6], kernel_sizes=[3, 3], noise_channels=2, noise_layers=1, guided=guided,
        dtype=dtype,
    )  # fmt: skip


def _critic(dtype):
    return ColorCritic(image_size=16, filters=[4], kernel_size=3, dense_units=4, dtype=dtype)


BUILDERS = {
    "hypercolumn": (_hypercolumn, lambda m: m.predict_ab(L_NORM)),
    "generator": (_generator, lambda m: m.predict_ab(L_NORM, NOISE)),
    "guided": (
        lambda dtype: GuidedColorGenerator(
            _generator(dtype, guided=True), _hypercolumn(dtype), dtype=dtype
        ),
        lambda m: m.predict_ab(L_NORM, NOISE),
    ),
    "critic": (_critic, lambda m: m([L_NORM, AB_NORM])),
    "gan": (
        lambda dtype: DiverseColorGAN(_generator(dtype), _critic(dtype), seed=0, dtype=dtype),
        lambda m: m.predict_ab(L_NORM, NOISE),
    ),
}


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_model_round_trips_config_and_keras_file(kind, dtype, tmp_path):
    build, call = BUILDERS[kind]
    model = build(dtype)
    assert model.dtype_policy.name == dtype
    run_serialization_test(model, call, tmp_path)


def test_files_of_kcolor_0_1_with_trunk_weights_in_the_config_still_load():
    config = _hypercolumn("float32").get_config()
    rebuilt = HypercolumnColorizer.from_config({**config, "trunk_weights": "hed"})
    assert rebuilt.get_config() == config
