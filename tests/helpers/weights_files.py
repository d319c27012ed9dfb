"""Weights files in the layouts published trunk weights come in, written by the tests."""

import warnings

import h5py
import keras


def write_keras2_weights(model: keras.Model, path) -> None:
    """Write ``model``'s weights in the Keras 2 ``.h5`` layout of the published ImageNet
    files (a group per layer holding its arrays, listed in ``weight_names``)."""
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = handle.create_group(layer.name)
            names = [f"{layer.name}/{w.path.split('/')[-1]}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, value in zip(names, layer.get_weights(), strict=True):
                group.create_dataset(name.decode(), data=value)


def write_int8_tflite(model: keras.Model, path, calibration) -> None:
    """Write ``model`` (fixed input shape) as an int8 TFLite file with per-channel weight
    scales, as published quantized classifiers are, calibrated on ``calibration`` (N, ...)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[None]] for image in calibration)
    with warnings.catch_warnings():
        # The converter's own complaint about its float input; the file is what we want.
        warnings.filterwarnings("ignore", "Statistics for quantized inputs were expected")
        content = converter.convert()
    with open(path, "wb") as handle:
        handle.write(content)
