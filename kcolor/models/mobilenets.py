"""Small ImageNet networks as hypercolumn trunks: MobileNet (v1) and MobileNetV2.

Both are ``keras.applications`` networks at any width (``alpha``), cut at their deepest
tapped layer. They see 20-50 times fewer multiply-adds per pixel than VGG16, so a CPU
trains a hypercolumn model on them with many more photos per hour.

Layers are grouped in five stages by the input pixels per feature cell of the stage's
output (2, 4, 8, 16, 32), the counterpart of VGG16's five blocks: ``frozen_blocks``
freezes the first stages, and the default taps are each stage's last wide activation.
Their input is the gray image repeated into three channels in [-1, 1] (the networks'
own ``preprocess_input``; channel order is irrelevant for a gray image).
"""

import re
import warnings

import keras

from kcolor.errors import ConfigError, ModelFileError

MOBILENET_TAPS = (
    "conv_pw_1_relu", "conv_pw_3_relu", "conv_pw_5_relu", "conv_pw_11_relu", "conv_pw_13_relu",
)  # fmt: skip
# The expansion layers before each stride-2 depthwise convolution are the widest maps of
# their resolution; out_relu is the network's last feature map (1280 channels).
MOBILENET_V2_TAPS = (
    "block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu",
    "block_13_expand_relu", "out_relu",
)  # fmt: skip

_BATCH_NORM_MOMENTUM = 0.99
# First block/layer index of stages 2 to 5 (each starts with a stride-2 convolution).
_V1_STAGE_STARTS = (2, 4, 6, 12)
_V2_STAGE_STARTS = (1, 3, 6, 13)


def _stage(index: int, starts) -> int:
    return 1 + sum(index >= start for start in starts)


def mobilenet_stage_of(layer_name: str) -> int | None:
    """The stage (1 to 5) of a MobileNet layer; None for the input layer."""
    match = re.match(r"conv_(?:dw|pw|pad)_(\d+)", layer_name)
    if match:
        return _stage(int(match.group(1)), _V1_STAGE_STARTS)
    return 1 if layer_name.startswith("conv1") else None


def mobilenet_v2_stage_of(layer_name: str) -> int | None:
    """The stage (1 to 5) of a MobileNetV2 layer; None for the input layer."""
    match = re.match(r"block_(\d+)_", layer_name)
    if match:
        return _stage(int(match.group(1)), _V2_STAGE_STARTS)
    if layer_name.startswith(("Conv1", "bn_Conv1", "expanded_conv")):
        return 1
    if layer_name.startswith(("Conv_1", "out_relu")):
        return 5
    return None


def _application(version: str, alpha: float, weights=None) -> keras.Model:
    """The no-top ``keras.applications`` network, any input size, with ``weights``
    (None, "imagenet" or a weights file of the same network and alpha)."""
    build = (
        keras.applications.MobileNet if version == "mobilenet" else keras.applications.MobileNetV2
    )
    source = "ImageNet" if weights == "imagenet" else str(weights)
    try:
        if weights == "imagenet":
            return build(alpha=alpha, include_top=False, weights="imagenet", input_shape=None)
        network = build(alpha=alpha, include_top=False, weights=None, input_shape=(None, None, 3))
        if weights is not None:
            with warnings.catch_warnings():
                # Keras warns, and goes on with random weights, when a file's groups do
                # not match the network; here that is a wrong file, not a warning.
                warnings.simplefilter("error")
                network.load_weights(weights)
        return network
    except (OSError, ValueError, KeyError, UserWarning) as error:
        raise ModelFileError(
            f"{source}: not {version} (alpha {alpha}) no-top weights: {error}"
        ) from error


def build_mobilenet_trunk(version: str, taps, alpha: float) -> keras.Model:
    """A MobileNet or MobileNetV2 trunk returning the tapped layers' features, random weights.

    Args:
        version: ``"mobilenet"`` or ``"mobilenet_v2"``.
        taps: layer names of that network (see :data:`MOBILENET_TAPS`,
            :data:`MOBILENET_V2_TAPS` for the defaults).
        alpha: width multiplier (any positive value; ImageNet weights exist for 0.25,
            0.5, 0.75, 1.0 (v1) and 0.35 to 1.4 (v2)).

    Returns:
        A ``keras.Model`` from the [-1, 1] gray image (B, H, W, 3) to one feature map per
        tap, in the order given.
    """
    if not alpha > 0:
        raise ConfigError(f"trunk_alpha must be positive. Received: {alpha}")
    network = _application(version, alpha)
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # keras.applications' 0.999 lets the moving statistics trail training by
            # thousands of steps; at 0.99 they follow within a few hundred.
            layer.momentum = _BATCH_NORM_MOMENTUM
    names = {layer.name for layer in network.layers}
    unknown = [tap for tap in taps if tap not in names]
    if unknown or not taps:
        raise ConfigError(f"taps must be layers of {version}; unknown: {unknown or list(taps)}")
    outputs = [network.get_layer(tap).output for tap in taps]
    return keras.Model(network.input, outputs, name=f"{version}_trunk")


def load_mobilenet_weights(trunk: keras.Model, version: str, alpha: float, weights) -> list[str]:
    """Copy pretrained weights onto a MobileNet trunk, layer by layer by name.

    Args:
        trunk: built by :func:`build_mobilenet_trunk` with the same version and alpha.
        weights: ``"imagenet"`` (Keras downloads them; needs a network) or a path to the
            no-top weights file of the same network and alpha (Keras' ``.h5``).

    Returns:
        The names of the layers copied.
    """
    if weights == "hed":
        raise ConfigError(
            f"'hed' weights are HED's VGG16 convolutions; a {version} trunk takes 'imagenet' "
            "or a weights file of the same network"
        )
    source = _application(version, alpha, weights)
    copied = []
    for layer in trunk.layers:
        if not layer.weights:
            continue
        source_weights = source.get_layer(layer.name).get_weights()
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [tuple(w.shape) for w in source_weights] != expected:
            raise ModelFileError(
                f"{weights}: layer {layer.name} has shapes "
                f"{[w.shape for w in source_weights]}; the trunk expects {expected}."
            )
        layer.set_weights(source_weights)
        copied.append(layer.name)
    return copied
