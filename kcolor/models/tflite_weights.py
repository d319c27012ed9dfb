"""Keras weights read out of an int8 TFLite network: ImageNet-trained MobileNetV2 weights
where only a quantized copy can be had.

Public repositories keep the full-width MobileNetV2's ImageNet classifier as an int8 TFLite
file (about 4 MB) but no Keras ``.h5`` copy small enough to be kept. Its convolutions are
those of ``keras.applications.MobileNetV2`` in the same order, with batch normalization
folded into each convolution's bias. This module dequantizes them (int8 value minus zero
point, times the per-channel scale) and puts them into the Keras network. No maintained
library converts a TFLite file back into a Keras model, hence the hand-written reader.

Batch normalization is unfolded with measured statistics so that kcolor's re-estimation of
batch statistics on gray photos later keeps each channel's trained scale (see
:func:`unfold_batch_normalization`).
"""

from dataclasses import dataclass

import keras
import numpy as np

from kcolor.errors import ModelFileError

_CONVOLUTIONS = {"CONV_2D": False, "DEPTHWISE_CONV_2D": True}


@dataclass(frozen=True)
class Convolution:
    """One dequantized convolution of a TFLite file, in Keras' kernel layout.

    Attributes:
        depthwise: True for a depthwise convolution.
        kernel: float32, (kh, kw, in, out) for a convolution, (kh, kw, channels, 1) for a
            depthwise one.
        bias: float32, (out,) (the folded batch normalization's shift).
    """

    depthwise: bool
    kernel: np.ndarray
    bias: np.ndarray


def _dequantize(detail: dict, values: np.ndarray) -> np.ndarray:
    """``(q - zero_point) * scale`` with per-tensor or per-channel parameters."""
    parameters = detail["quantization_parameters"]
    scales, zero_points = parameters["scales"], parameters["zero_points"]
    values = values.astype(np.float32)
    if scales.size == 0:
        return values
    shape = [1] * values.ndim
    if scales.size > 1:
        shape[parameters["quantized_dimension"]] = scales.size
    return (values - zero_points.reshape(shape)) * scales.astype(np.float32).reshape(shape)


def read_convolutions(path: str) -> list[Convolution]:
    """Every convolution of a TFLite file, dequantized, in execution order.

    Raises:
        ModelFileError: naming ``path`` when it is not a TFLite file.
    """
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=path)
    except ValueError as error:
        raise ModelFileError(f"{path}: not a TFLite model file ({error})") from error
    details = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
    convolutions = []
    for operation in interpreter._get_ops_details():
        if operation["op_name"] not in _CONVOLUTIONS:
            continue
        depthwise = _CONVOLUTIONS[operation["op_name"]]
        kernel_index, bias_index = operation["inputs"][1], operation["inputs"][2]
        kernel = _dequantize(details[kernel_index], interpreter.get_tensor(kernel_index))
        # TFLite: (out, kh, kw, in) and (1, kh, kw, channels); Keras: (kh, kw, in, out)
        # and (kh, kw, channels, 1).
        kernel = np.moveaxis(kernel, 0, -1)
        if bias_index >= 0:
            bias = _dequantize(details[bias_index], interpreter.get_tensor(bias_index))
        else:
            bias = np.zeros(kernel.shape[-2 if depthwise else -1], np.float32)
        convolutions.append(Convolution(depthwise, kernel, bias))
    return convolutions


def _convolution_layers(
    network: keras.Model,
) -> list[tuple[keras.layers.Layer, keras.layers.Layer]]:
    """Each convolution of ``network`` with the batch normalization that follows it."""
    pairs, pending = [], None
    for layer in network.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            pending = layer
        elif isinstance(layer, keras.layers.BatchNormalization) and pending is not None:
            pairs.append((pending, layer))
            pending = None
    return pairs


def copy_convolutions(network: keras.Model, convolutions: list[Convolution], source: str):
    """Put ``convolutions`` into the bias-free convolutions of ``network`` in order, each
    with its bias as the shift of the batch normalization after it (statistics 0 and 1).

    Returns:
        The convolutions left over after the network's (a classifier, for instance).

    Raises:
        ModelFileError: naming ``source`` when the file's convolutions do not match.
    """
    pairs = _convolution_layers(network)
    if len(convolutions) < len(pairs):
        raise ModelFileError(
            f"{source}: {len(convolutions)} convolutions; {network.name} has {len(pairs)}"
        )
    for (layer, normalization), convolution in zip(pairs, convolutions[: len(pairs)], strict=True):
        is_depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
        (kernel,) = layer.get_weights()
        if is_depthwise != convolution.depthwise or kernel.shape != convolution.kernel.shape:
            raise ModelFileError(
                f"{source}: a convolution of shape {convolution.kernel.shape} where "
                f"{network.name}'s layer {layer.name} has {kernel.shape}"
            )
        layer.set_weights([convolution.kernel])
        # gamma * (x - 0) / sqrt(1 + epsilon) + beta = x + bias
        gamma = np.full_like(convolution.bias, np.sqrt(1.0 + normalization.epsilon))
        mean, variance = np.zeros_like(gamma), np.ones_like(gamma)
        normalization.set_weights([gamma, convolution.bias, mean, variance])
    return convolutions[len(pairs) :]


def unfold_batch_normalization(network: keras.Model, images: np.ndarray, batch_size: int = 16):
    """Give each batch normalization of ``network`` the statistics of its input on
    ``images`` without changing what the network computes.

    After :func:`copy_convolutions` every normalization is ``x + bias``. With the measured
    mean ``m`` and variance ``v`` of its input ``x``, ``gamma = sqrt(v + epsilon)`` and
    ``beta = bias + m`` give the same output, and re-estimating the statistics on other
    photos (gray ones) then keeps each channel's scale and shift, as it would for weights
    trained with batch normalization.

    Args:
        images: (N, H, W, 3) in the network's input range ([-1, 1] for the MobileNets),
            read ``batch_size`` at a time (the statistics are summed, not stored).
    """
    normalizations = [pair[1] for pair in _convolution_layers(network)]
    probe = keras.Model(network.input, [layer.input for layer in normalizations])
    # Per channel: number of values, their sum and their sum of squares (float64).
    totals = [np.zeros((3, layer.input.shape[-1])) for layer in normalizations]
    for start in range(0, len(images), batch_size):
        for total, values in zip(totals, probe(images[start : start + batch_size]), strict=True):
            values = np.asarray(values, np.float64).reshape(-1, values.shape[-1])
            total += [np.full(values.shape[1], len(values)), values.sum(0), (values**2).sum(0)]
    for normalization, (count, total, square) in zip(normalizations, totals, strict=True):
        gamma, beta, _, _ = normalization.get_weights()
        mean = total / count
        variance = np.maximum(square / count - np.square(mean), 0.0)
        epsilon = normalization.epsilon
        gamma = gamma / np.sqrt(1.0 + epsilon) * np.sqrt(variance + epsilon)
        normalization.set_weights(
            [np.float32(array) for array in (gamma, beta + mean, mean, variance)]
        )
