"""The feature trunks a hypercolumn model can stand on, in one table.

``vgg16`` is the paper's (Larsson et al. 2016); ``mobilenet`` and ``mobilenet_v2`` are
small ``keras.applications`` networks (:mod:`kcolor.models.mobilenets`). Each entry says
how to build the trunk, its default taps, which stage (1 to 5) a layer belongs to (for
``frozen_blocks``), how the gray image is fed to it, and where its weights come from.
"""

import dataclasses
from collections.abc import Callable

import keras

from kcolor.errors import ConfigError
from kcolor.models import mobilenets, vgg16

# Any multiple of the deepest stride (32) gives exact feature-map sizes for measuring.
_PROBE_SIDE = 64


@dataclasses.dataclass(frozen=True)
class TrunkKind:
    """One kind of trunk.

    Attributes:
        default_taps: the layers tapped when none are named (one per resolution).
        input_style: ``"caffe"`` (VGG16: BGR 0..255 minus ImageNet means) or ``"tf"``
            (MobileNets: RGB in [-1, 1]).
        default_weights: where ``kcolor train`` starts the trunk from when not told:
            ``"hed"`` (offline VGG16 weights) or None (random).
        build: ``(taps, widths, alpha) -> keras.Model``.
        stage_of: layer name -> stage 1..5 (None: no stage, always trainable).
        load: ``(trunk, alpha, weights) -> copied layer names``.
    """

    default_taps: tuple
    input_style: str
    default_weights: str | None
    build: Callable
    stage_of: Callable
    load: Callable


def _mobilenet_kind(version: str, default_taps, stage_of) -> TrunkKind:
    """A :mod:`kcolor.models.mobilenets` network as a trunk kind."""
    return TrunkKind(
        default_taps=default_taps,
        input_style="tf",
        default_weights=None,
        build=lambda taps, widths, alpha: mobilenets.build_mobilenet_trunk(version, taps, alpha),
        stage_of=stage_of,
        load=lambda trunk, alpha, weights: mobilenets.load_mobilenet_weights(
            trunk, version, alpha, weights
        ),
    )


TRUNKS = {
    "vgg16": TrunkKind(
        default_taps=vgg16.VGG16_CONV_LAYERS,
        input_style="caffe",
        default_weights="hed",
        build=lambda taps, widths, alpha: vgg16.build_trunk(taps, widths),
        stage_of=vgg16.block_of,
        load=lambda trunk, alpha, weights: vgg16.load_trunk_weights(trunk, weights),
    ),
    "mobilenet": _mobilenet_kind(
        "mobilenet", mobilenets.MOBILENET_TAPS, mobilenets.mobilenet_stage_of
    ),
    "mobilenet_v2": _mobilenet_kind(
        "mobilenet_v2", mobilenets.MOBILENET_V2_TAPS, mobilenets.mobilenet_v2_stage_of
    ),
}


def kind_of(name: str) -> TrunkKind:
    """The :class:`TrunkKind` called ``name``."""
    if name not in TRUNKS:
        raise ConfigError(f"trunk must be one of {sorted(TRUNKS)}. Received: {name!r}")
    return TRUNKS[name]


def tap_strides(trunk: keras.Model) -> list[int]:
    """Input pixels per feature cell of each of the trunk's outputs, in output order."""
    probe = keras.KerasTensor((1, _PROBE_SIDE, _PROBE_SIDE, 3))
    outputs = trunk.compute_output_spec(probe)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    return [_PROBE_SIDE // output.shape[1] for output in outputs]


def reestimate_batch_statistics(trunk: keras.Model, trunk_input) -> int:
    """Set every batch normalization layer's moving mean and variance in ``trunk``,
    frozen ones included, to their values on ``trunk_input`` (the trunk's own input, e.g.
    (B, H, W, 3)); returns how many layers were set (0 for VGG16, which has none)."""
    norms = [layer for layer in trunk.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [(layer.momentum, layer.trainable) for layer in norms]
    for layer in norms:
        layer.momentum, layer.trainable = 0.0, True
    try:
        if norms:
            trunk(trunk_input, training=True)
    finally:
        for layer, (momentum, trainable) in zip(norms, saved, strict=True):
            layer.momentum, layer.trainable = momentum, trainable
    return len(norms)
