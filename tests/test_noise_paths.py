"""One seed, one colouring: every colorize path draws the GAN's noise the same way."""

import keras
import numpy as np
import tensorflow as tf
from conftest import colour_photo, encode
from helpers.command import run_kcolor
from PIL import Image

import kcolor
from kcolor import inference
from kcolor.deploy import tflite
from kcolor.models.base import noise_of_seeds, sample_seeds


def _levels_apart(first, second) -> int:
    return int(np.abs(np.asarray(first, int) - np.asarray(second, int)).max())


def test_a_noise_vector_depends_on_its_seed_alone():
    together = noise_of_seeds([5, 6, 7], 4).numpy()
    for index, seed in enumerate((5, 6, 7)):
        np.testing.assert_array_equal(together[index], noise_of_seeds([seed], 4).numpy()[0])
    # Keras' integer seeds mean the same draw.
    keras_draw = keras.random.uniform((1, 4), minval=-1.0, maxval=1.0, seed=6)
    np.testing.assert_array_equal(together[1], np.asarray(keras_draw)[0])
    assert sample_seeds(2, 3, 10).numpy().tolist() == [10, 11, 12, 10, 11, 12]


def _noise_sensitive_gan(tmp_path):
    """A tiny GAN with large random weights, so that every seed colours visibly
    differently (a freshly initialised one barely reacts to its noise)."""
    from kcolor.models import ColorCritic, DiverseColorGAN, DiverseColorGenerator

    generator = DiverseColorGenerator(
        filters=[8, 6], kernel_sizes=[3, 3, 3], noise_channels=2, noise_layers=2
    )
    gan = DiverseColorGAN(generator, ColorCritic(16, [4], 3, 4), seed=0)
    gan(np.zeros((1, 16, 16, 1), np.float32))
    rng = np.random.default_rng(0)
    generator.set_weights(
        [
            rng.normal(0.0, 0.2, w.shape).astype(np.float32) if w.ndim > 1 else w
            for w in generator.get_weights()
        ]
    )
    path = tmp_path / "gan.keras"
    gan.save(path)
    return keras.saving.load_model(path), str(path)


def test_samples_seeds_batches_api_savedmodel_and_tflite_agree(tmp_path):
    from kcolor.deploy import export

    model, model_path = _noise_sensitive_gan(tmp_path)
    folder = export.export_savedmodel(model, tmp_path / "serving", "gan", size=32)
    photos = tmp_path / "photos"
    photos.mkdir()
    shapes = ((30, 40), (36, 36), (40, 28))
    for index, shape in enumerate(shapes):
        Image.fromarray(colour_photo(*shape, index)).save(photos / f"{index}.png")
    reference = {
        index: kcolor.colorize(
            photos / f"{index}.png", model, size=32, samples=3, seed=7, precision="float32"
        )
        for index in range(3)
    }

    def cli(output, *arguments):
        result = run_kcolor(
            "colorize",
            photos,
            "-o",
            output,
            "--model",
            model_path,
            "--size",
            "32",
            *("--precision", "float32", "--quiet", *arguments),
        )
        assert result.returncode == 0, result.stderr[-2000:]

    cli(tmp_path / "three", "--samples", "3", "--seed", "7", "--batch-size", "2")
    cli(tmp_path / "one", "--seed", "9", "--batch-size", "3")
    for index in range(3):
        for k in range(3):
            written = np.asarray(Image.open(tmp_path / "three" / f"{index}_sample{k + 1}.png"))
            assert _levels_apart(written, reference[index][k]) <= 1
        # --seed 9 is the third colouring of --seed 7, whatever the batch.
        written = np.asarray(Image.open(tmp_path / "one" / f"{index}.png"))
        assert _levels_apart(written, reference[index][2]) <= 1
    assert _levels_apart(reference[0][0], reference[0][1]) > 20

    # The SavedModel, sent seed 7 + k (as kcolor client does for colouring k).
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    pngs = [encode(colour_photo(*shapes[1], 1), "PNG")] * 3
    served = serve(image_bytes=tf.constant(pngs), seed=tf.constant([7, 8, 9], tf.int64))
    for k, png in enumerate(served["colorized_png_bytes"].numpy()):
        assert _levels_apart(tf.io.decode_png(png).numpy(), reference[1][k]) <= 1

    # The TFLite runner against the Keras colorizer, same input, colouring by colouring.
    path = tflite.export_variants(model, tmp_path / "lite", ["float32"], input_size=0)
    lite = tflite.LiteColorizer(path["float32"], size=32)
    keras_colorizer = inference.Colorizer(model, 32)
    l_norm = keras_colorizer.model_input(colour_photo(*shapes[2], 2))
    lite_ab = lite.predict_ab(l_norm, samples=3, seed=7).numpy()
    for k in range(3):
        keras_ab = keras_colorizer.predict_ab(l_norm, 1, seed=7 + k).numpy()[0, 0]
        assert np.abs(lite_ab[0, k] - keras_ab).max() * 110 < 0.05
