import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import colour_photo, encode, run_with_two_cpu_replicas

from kcolor import data
from kcolor.models import (
    ColorCritic,
    DiverseColorGAN,
    DiverseColorGenerator,
    GuidedColorGenerator,
    HypercolumnColorizer,
)

SIZE = 16
TINY_GENERATOR = dict(filters=[8, 6], kernel_sizes=[3, 3, 3], noise_channels=2, noise_layers=2)
TINY_CRITIC = dict(image_size=SIZE, filters=[4, 8], kernel_size=3, dense_units=8)


def tiny_gan(seed=0, **critic_overrides):
    critic = ColorCritic(**{**TINY_CRITIC, **critic_overrides})
    return DiverseColorGAN(DiverseColorGenerator(**TINY_GENERATOR), critic, seed=seed)


def synthetic_batches(count=2, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    l_norm = rng.uniform(-1, 1, (count * batch, SIZE, SIZE, 1)).astype("float32")
    ab_norm = rng.uniform(-0.5, 0.5, (count * batch, SIZE, SIZE, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((l_norm, ab_norm)).batch(batch)


def weights_of(model):
    return [w.numpy().copy() for w in model.trainable_variables]


def kernels_of(model):
    return [w.numpy().copy() for w in model.trainable_variables if "kernel" in w.path]


def changed(before, after):
    return [not np.array_equal(b, a) for b, a in zip(before, after, strict=True)]


def test_generator_keeps_any_size_and_outputs_normalised_ab():
    generator = DiverseColorGenerator(**TINY_GENERATOR)
    for height, width in [(16, 16), (23, 41)]:
        l_norm = tf.zeros([2, height, width, 1])
        noise = tf.random.uniform([2, height, width, 2], -1, 1)
        ab_norm = generator([l_norm, noise]).numpy()
        assert ab_norm.shape == (2, height, width, 2)
        assert np.abs(ab_norm).max() <= 1.0
    for layer in generator.layers:
        if isinstance(layer, keras.layers.Conv2D):
            assert layer.strides == (1, 1) and layer.padding == "same"


def test_reference_defaults_have_the_papers_widths_and_kernels():
    generator = DiverseColorGenerator()
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [128, 64, 64, 64, 32, 2]
    assert [c.kernel_size[0] for c in convs] == [7, 5, 5, 5, 5, 5]


@pytest.mark.parametrize("noise_layers", [1, 2, 3])
def test_noise_enters_exactly_the_first_k_convolutions(noise_layers):
    config = {**TINY_GENERATOR, "noise_layers": noise_layers}
    generator = DiverseColorGenerator(**config)
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)]
    previous = 0
    for index, conv in enumerate(convs):
        inputs = conv.kernel.shape[2]
        expected = 1 + previous + (config["noise_channels"] if index < noise_layers else 0)
        assert inputs == expected, f"conv {index}"
        previous = conv.filters


def test_gray_input_reaches_every_convolution():
    generator = DiverseColorGenerator(**TINY_GENERATOR)
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)]
    for conv in convs:
        concat = conv._inbound_nodes[0].parent_nodes[0].operation
        assert generator.inputs[0] in concat._inbound_nodes[0].input_tensors


def test_two_noise_draws_give_different_colourings_and_a_seed_repeats_one():
    gan = tiny_gan()
    l_norm = tf.random.uniform([2, SIZE, SIZE, 1], -1, 1, seed=1)
    samples = gan.sample(l_norm, 3).numpy()
    assert samples.shape == (2, 3, SIZE, SIZE, 2)
    assert np.abs(samples[:, 0] - samples[:, 1]).mean() > 1e-4
    np.testing.assert_array_equal(gan.sample(l_norm, 2, seed=5), gan.sample(l_norm, 2, seed=5))


def test_weight_clipping_holds_after_a_step_and_steps_touch_only_their_network():
    gan = tiny_gan()
    gan.compile(critic_steps=2, clip_value=0.01)
    l_norm, ab_norm = next(iter(synthetic_batches()))
    generator_before, critic_before = weights_of(gan.generator), weights_of(gan.critic)

    critic_kernels = kernels_of(gan.critic)
    gan._critic_step(l_norm, ab_norm, None, 1)
    assert not any(changed(generator_before, weights_of(gan.generator)))
    # Every kernel moves (the score's bias cannot: the Wasserstein loss ignores it).
    assert all(changed(critic_kernels, kernels_of(gan.critic)))
    for weight in gan.critic.trainable_variables:
        assert np.abs(weight.numpy()).max() <= 0.01 + 1e-7

    critic_before = weights_of(gan.critic)
    generator_kernels = kernels_of(gan.generator)
    gan._generator_step(l_norm, ab_norm, None, 1)
    assert not any(changed(critic_before, weights_of(gan.critic)))
    # Kernels, not every weight: through a freshly clipped critic the gradients are so
    # small that a batch-norm scale of 1.0 can move by less than float32 resolves.
    assert all(changed(generator_kernels, kernels_of(gan.generator)))


def test_gradient_penalty_is_finite_and_positive():
    gan = tiny_gan(normalization="layer")
    gan.compile(clip_value=None, gradient_penalty=10.0, critic_optimizer=keras.optimizers.Adam())
    l_norm, ab_norm = next(iter(synthetic_batches()))
    penalty = float(gan._gradient_penalty(l_norm, ab_norm, ab_norm * 0.5))
    assert np.isfinite(penalty) and penalty > 0
    # Identical real and fake: every interpolate is the same point; still finite.
    assert np.isfinite(float(gan._gradient_penalty(l_norm, ab_norm, ab_norm)))


def test_compile_rejects_contradictory_settings():
    gan = tiny_gan()
    with pytest.raises(ValueError, match="not both"):
        gan.compile(clip_value=0.01, gradient_penalty=10.0)
    with pytest.raises(ValueError, match="without batch norm"):
        gan.compile(clip_value=None, gradient_penalty=10.0)
    with pytest.raises(ValueError, match="loss must be"):
        gan.compile(loss="hinge")
    with pytest.raises(ValueError, match="noise_layers"):
        DiverseColorGenerator(filters=[4], kernel_sizes=[3, 3], noise_layers=3)


@pytest.mark.parametrize(
    "settings",
    [
        dict(loss="wasserstein", clip_value=0.01),
        dict(loss="wasserstein", clip_value=None, gradient_penalty=10.0),
        dict(loss="cross_entropy", clip_value=None, critic_steps=1, l1_weight=1.0),
    ],
)
def test_fit_logs_running_means_of_every_tracker(settings):
    normalization = "layer" if settings.get("gradient_penalty") else "batch"
    gan = tiny_gan(normalization=normalization)
    gan.compile(**settings)
    history = gan.fit(
        synthetic_batches(), validation_data=synthetic_batches(seed=1), epochs=2, verbose=0
    )
    for name in ("critic_loss", "generator_loss", "critic_gap", "gradient_penalty", "ab_mae"):
        assert len(history.history[name]) == 2
        assert np.all(np.isfinite(history.history[name]))
        assert np.isfinite(history.history[f"val_{name}"][-1])
    if settings.get("gradient_penalty"):
        assert history.history["gradient_penalty"][-1] > 0


def test_fit_on_the_lab_pipeline(tmp_path):
    for index in range(6):
        (tmp_path / f"{index}.png").write_bytes(encode(colour_photo(24, 30, index), "PNG"))
    gan = tiny_gan()
    gan.compile(critic_steps=1)
    dataset = data.lab_dataset(tmp_path, SIZE, 3, training=True, seed=0)
    history = gan.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["generator_loss"][0])


def test_generator_round_trips_through_a_keras_file(tmp_path):
    generator = DiverseColorGenerator(**TINY_GENERATOR)
    config = generator.get_config()
    assert {k: config[k] for k in TINY_GENERATOR} == TINY_GENERATOR
    l_norm = tf.random.uniform([1, 20, 12, 1], -1, 1, seed=3)
    noise = tf.random.uniform([1, 20, 12, 2], -1, 1, seed=4)
    path = tmp_path / "generator.keras"
    generator.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, DiverseColorGenerator)
    np.testing.assert_allclose(restored([l_norm, noise]), generator([l_norm, noise]), atol=1e-6)
    assert json.dumps(keras.saving.serialize_keras_object(restored)) == json.dumps(
        keras.saving.serialize_keras_object(generator)
    )


def test_trained_gan_round_trips_with_its_training_settings(tmp_path):
    gan = tiny_gan(seed=3)
    gan.compile(critic_steps=2, clip_value=0.02, l1_weight=0.5)
    gan.fit(synthetic_batches(), epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    gan.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, DiverseColorGAN)
    assert restored.critic_steps == 2 and restored.clip_value == 0.02
    assert restored.l1_weight == 0.5
    l_norm = tf.random.uniform([2, SIZE, SIZE, 1], -1, 1, seed=1)
    np.testing.assert_allclose(
        restored.sample(l_norm, 2, seed=9), gan.sample(l_norm, 2, seed=9), atol=1e-6
    )
    for original, loaded in zip(gan.critic.weights, restored.critic.weights, strict=True):
        np.testing.assert_array_equal(original.numpy(), loaded.numpy())
    # The optimizers' state comes back too, so training resumes where it stopped.
    for optimizer in ("critic_optimizer", "generator_optimizer"):
        saved = getattr(gan, optimizer).variables
        loaded = getattr(restored, optimizer).variables
        assert int(getattr(restored, optimizer).iterations.numpy()) > 0
        for original, reloaded in zip(saved, loaded, strict=True):
            np.testing.assert_array_equal(original.numpy(), reloaded.numpy())
    restored.fit(synthetic_batches(), epochs=1, verbose=0)


def test_fit_under_a_mirrored_strategy():
    output = run_with_two_cpu_replicas(
        """
        from kcolor.models import ColorCritic, DiverseColorGAN, DiverseColorGenerator

        with strategy.scope():
            gan = DiverseColorGAN(
                DiverseColorGenerator(filters=[8, 6], kernel_sizes=[3, 3, 3], noise_channels=2),
                ColorCritic(image_size=16, filters=[4, 8], kernel_size=3, dense_units=8),
                seed=0,
            )
            gan.compile(critic_steps=2)
        l_norm = rng.uniform(-1, 1, (16, 16, 16, 1)).astype("float32")
        ab_norm = rng.uniform(-0.5, 0.5, (16, 16, 16, 2)).astype("float32")
        dataset = tf.data.Dataset.from_tensor_slices((l_norm, ab_norm)).batch(8)
        history = gan.fit(dataset, epochs=2, verbose=0, shuffle=False)
        assert all(np.isfinite(history.history["critic_loss"]))
        steps = int(gan.critic_optimizer.iterations.numpy())
        print("replicas", strategy.num_replicas_in_sync, "steps", steps)
        """
    )
    # 2 epochs x 2 batches x 2 critic steps.
    assert "replicas 2 steps 8" in output


def test_an_uncompiled_gan_saves_and_loads(tmp_path):
    gan = tiny_gan(seed=4)
    path = tmp_path / "untrained.keras"
    gan.save(path)
    restored = keras.saving.load_model(path)
    l_norm = tf.random.uniform([1, SIZE, SIZE, 1], -1, 1, seed=2)
    np.testing.assert_allclose(restored.sample(l_norm, 2, seed=1), gan.sample(l_norm, 2, seed=1))


def tiny_guided_gan(seed=0):
    guide = HypercolumnColorizer(
        taps=["block1_conv2"], trunk_widths=[4, 8, 8, 8, 8], head_units=8, bins=8, seed=seed
    )
    generator = GuidedColorGenerator(DiverseColorGenerator(**TINY_GENERATOR, guided=True), guide)
    critic = ColorCritic(**{**TINY_CRITIC, "normalization": "layer"})
    return DiverseColorGAN(generator, critic, seed=seed)


def test_a_guided_generator_starts_at_its_guide_and_varies_around_it():
    gan = tiny_guided_gan()
    l_norm = tf.random.uniform([2, SIZE, SIZE, 1], -1, 1, seed=1)
    guide_ab = gan.generator.guide_ab(l_norm).numpy()
    assert np.abs(guide_ab).max() > 1e-3
    # An untrained guide's chroma reaches past tanh's range; the offset clips it to +-0.99.
    guide_ab = np.clip(guide_ab, -0.99, 0.99)
    # The guide enters every convolution, as the gray image does.
    for layer in gan.generator.generator.layers:
        if isinstance(layer, keras.layers.Concatenate):
            assert "guide" in [tensor.name for tensor in layer.input]
    output = gan.generator.generator.get_layer("output_conv")
    output.kernel.assign(tf.zeros_like(output.kernel))
    output.bias.assign(tf.zeros_like(output.bias))
    np.testing.assert_allclose(gan(l_norm), guide_ab, atol=1e-5)
    output.bias.assign([0.3, -0.3])
    moved = gan(l_norm).numpy()
    np.testing.assert_allclose(np.arctanh(moved), np.arctanh(guide_ab) + [0.3, -0.3], atol=1e-4)

    # A bounded offset: however large the last convolution's output, at most the limit.
    bounded = GuidedColorGenerator(
        DiverseColorGenerator(**TINY_GENERATOR, guided=True, offset_limit=0.05),
        gan.generator.guide,
    )
    output = bounded.generator.get_layer("output_conv")
    output.bias.assign([30.0, -30.0])
    noise = tf.zeros([2, SIZE, SIZE, 2])
    moved = np.arctanh(bounded([l_norm, noise]).numpy()) - np.arctanh(guide_ab)
    np.testing.assert_allclose(moved, np.broadcast_to([0.05, -0.05], moved.shape), atol=1e-4)
    with pytest.raises(ValueError, match="guided=True"):
        DiverseColorGenerator(**TINY_GENERATOR, offset_limit=0.05)


def test_training_a_guided_gan_leaves_its_guide_untouched():
    gan = tiny_guided_gan()
    gan.compile(clip_value=None, gradient_penalty=10.0, l1_weight=1.0, critic_steps=2)
    guide_before = [w.numpy().copy() for w in gan.generator.guide.weights]
    generator_before = kernels_of(gan.generator.generator)
    assert gan.generator.trainable_weights == gan.generator.generator.trainable_weights
    history = gan.fit(synthetic_batches(), epochs=1, verbose=0)
    assert np.isfinite(history.history["generator_loss"][0])
    assert not any(changed(guide_before, [w.numpy() for w in gan.generator.guide.weights]))
    assert all(changed(generator_before, kernels_of(gan.generator.generator)))


def test_a_guided_gan_round_trips_through_a_keras_file(tmp_path):
    gan = tiny_guided_gan()
    gan.compile(clip_value=None, gradient_penalty=10.0)
    path = tmp_path / "guided.keras"
    gan.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.generator, GuidedColorGenerator)
    assert isinstance(restored.generator.guide, HypercolumnColorizer)
    assert not restored.generator.guide.trainable
    assert restored.generator.trainable_weights == restored.generator.generator.trainable_weights
    l_norm = tf.random.uniform([1, 24, 40, 1], -1, 1, seed=2)
    np.testing.assert_allclose(
        restored.sample(l_norm, 2, seed=5), gan.sample(l_norm, 2, seed=5), atol=1e-5
    )
    with pytest.raises(ValueError, match="guided=True"):
        GuidedColorGenerator(DiverseColorGenerator(**TINY_GENERATOR), gan.generator.guide)
    # The guided generator alone (as bundled) colorizes as the GAN holding it.
    from kcolor import inference

    bare = inference.Colorizer(restored.generator, 32).predict_ab(l_norm, 2, seed=5)
    np.testing.assert_allclose(bare, gan.sample(l_norm, 2, seed=5), atol=1e-5)


def test_the_best_of_n_l1_term_pulls_only_the_closest_draw():
    gan = tiny_gan()
    l_norm = tf.random.uniform([3, SIZE, SIZE, 1], -1, 1, seed=1)
    photo = tf.zeros([3, SIZE, SIZE, 2])
    far = tf.ones([3, SIZE, SIZE, 2])
    gan.compile(l1_weight=1.0)
    assert float(gan._best_of_l1(l_norm, photo, None, far)) == pytest.approx(1.0)
    gan.compile(l1_weight=1.0, l1_best_of=3)
    # Two more draws, each closer to the photo than ``far`` (|tanh| < 1): the best counts.
    best = float(gan._best_of_l1(l_norm, photo, None, far))
    assert 0.0 < best < 1.0
    assert float(gan._best_of_l1(l_norm, far, None, far)) == 0.0
    with pytest.raises(ValueError, match="l1_best_of"):
        gan.compile(l1_best_of=0)


@pytest.mark.parametrize("guided", [False, True])
def test_the_gan_passes_the_model_harness(guided, tmp_path):
    from helpers.model_harness import run_model_test

    def make(dtype):
        keras.utils.set_random_seed(0)
        generator = DiverseColorGenerator(**TINY_GENERATOR, guided=guided, dtype=dtype)
        if guided:
            guide = HypercolumnColorizer(
                taps=["block1_conv2"], trunk_widths=[4, 4, 4, 4, 4], head_units=4, bins=8,
                dtype=dtype,
            )  # fmt: skip
            generator = GuidedColorGenerator(generator, guide, dtype=dtype)
        gan = DiverseColorGAN(
            generator, ColorCritic(**TINY_CRITIC, dtype=dtype), seed=0, dtype=dtype
        )
        gan.compile(critic_steps=1)
        return gan

    run_model_test(make, tmp_path, side=SIZE)
