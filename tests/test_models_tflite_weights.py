"""Reading a network's weights back out of an int8 TFLite file (kcolor.models.tflite_weights)."""

import keras
import numpy as np
import pytest
from helpers.weights_files import write_int8_tflite

from kcolor.errors import ModelFileError
from kcolor.models import tflite_weights


def small_mobilenet_v2(seed):
    """A narrow MobileNetV2 with random weights and random batch statistics, as a trained
    network has (keras' fresh statistics, 0 and 1, would make folding trivial)."""
    keras.utils.set_random_seed(seed)
    network = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    generator = np.random.default_rng(seed)
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([
                generator.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                generator.normal(0.0, 0.2, beta.shape).astype(np.float32),
                generator.normal(0.0, 0.2, mean.shape).astype(np.float32),
                generator.uniform(0.5, 2.0, variance.shape).astype(np.float32),
            ])  # fmt: skip
    return network


def photos(count, seed, size=64):
    """Smooth random images in [-1, 1], (count, size, size, 3)."""
    generator = np.random.default_rng(seed)
    coarse = generator.uniform(-1, 1, (count, size // 8, size // 8, 3)).astype(np.float32)
    return np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)


@pytest.fixture(scope="module")
def int8_file(tmp_path_factory):
    """The small network, converted to an int8 TFLite file (per-channel weight scales), and
    the network itself."""
    network = small_mobilenet_v2(seed=3)
    inputs = keras.Input((64, 64, 3))
    path = tmp_path_factory.mktemp("tflite") / "small.tflite"
    write_int8_tflite(keras.Model(inputs, network(inputs)), path, photos(8, seed=4))
    return str(path), network


def test_dequantized_network_computes_what_the_original_did(int8_file):
    path, original = int8_file
    copy = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    convolutions = tflite_weights.read_convolutions(path)
    assert len(convolutions) == 52 and sum(c.depthwise for c in convolutions) == 17
    assert tflite_weights.copy_convolutions(copy, convolutions, path) == []
    images = photos(4, seed=5)
    expected, received = original.predict(images, verbose=0), copy.predict(images, verbose=0)
    # int8 weights: a small relative error, not a different network.
    error = np.linalg.norm(received - expected) / np.linalg.norm(expected)
    assert error < 0.1
    assert np.corrcoef(received.ravel(), expected.ravel())[0, 1] > 0.99
    random_network = small_mobilenet_v2(seed=9).predict(images, verbose=0)
    assert np.linalg.norm(random_network - expected) / np.linalg.norm(expected) > 0.5


def test_unfolding_keeps_the_function_and_records_statistics(int8_file):
    path, _ = int8_file
    network = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    tflite_weights.copy_convolutions(network, tflite_weights.read_convolutions(path), path)
    images = photos(6, seed=6)
    before = network.predict(images, verbose=0)
    tflite_weights.unfold_batch_normalization(network, images, batch_size=4)
    after = network.predict(images, verbose=0)
    np.testing.assert_allclose(after, before, rtol=1e-3, atol=1e-3)
    stem = network.get_layer("bn_Conv1")
    stem_input = keras.Model(network.input, stem.input).predict(images, verbose=0)
    _, _, mean, variance = stem.get_weights()
    np.testing.assert_allclose(mean, stem_input.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(variance, stem_input.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)


def test_a_file_of_another_network_is_refused_naming_it(int8_file, tmp_path):
    path, _ = int8_file
    wider = keras.applications.MobileNetV2(
        alpha=0.5, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    with pytest.raises(ModelFileError, match="small.tflite: a convolution of shape"):
        tflite_weights.copy_convolutions(wider, tflite_weights.read_convolutions(path), path)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelFileError, match="junk.tflite: not a TFLite model file"):
        tflite_weights.read_convolutions(str(junk))
