"""Weights files in the layouts published trunk weights come in, written by the tests."""

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
