"""The hypercolumn model on each trunk: build, taps, sparse = dense, training, freezing,
batch statistics, serialization, export, and the trunk weight readers."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from helpers.serialization import run_serialization_test
from helpers.weights_files import write_keras2_weights

from kcolor import color
from kcolor.deploy import export, tflite
from kcolor.errors import ConfigError, ModelFileError
from kcolor.models import TRUNKS, HypercolumnColorizer, hypercolumn_features, mobilenets, trunk_kind

# The smallest widths keras.applications builds cleanly; VGG16 at test widths.
TINY_TRUNKS = {
    "vgg16": dict(trunk="vgg16", trunk_widths=[4, 8, 8, 8, 8]),
    "mobilenet": dict(trunk="mobilenet", trunk_alpha=0.25),
    "mobilenet_v2": dict(trunk="mobilenet_v2", trunk_alpha=0.35),
}
HEAD = dict(head_units=16, bins=8, sample_points=32, seed=0)


def tiny(name, **overrides):
    keras.utils.set_random_seed(0)
    return HypercolumnColorizer(**{**TINY_TRUNKS[name], **HEAD, **overrides})


def test_every_registered_trunk_has_a_tiny_test_model():
    assert set(TINY_TRUNKS) == set(TRUNKS)


@pytest.mark.parametrize("name", sorted(TINY_TRUNKS))
def test_default_taps_cover_five_resolutions_and_set_the_input_multiple(name):
    model = tiny(name)
    assert model.taps == list(trunk_kind(name).default_taps)
    expected = [1, 2, 4, 8, 16] if name == "vgg16" else [2, 4, 8, 16, 32]
    assert sorted(set(model.strides)) == expected
    assert model.input_multiple == max(model.strides)
    features = model.features(tf.zeros([1, 64, 96, 1]))
    for feature, stride in zip(features, model.strides, strict=True):
        assert feature.shape[1:3] == (64 // stride, 96 // stride)


@pytest.mark.parametrize("name", sorted(TINY_TRUNKS))
def test_sparse_logits_equal_the_dense_map_at_the_sampled_points(name):
    model = tiny(name, output_stride=1)
    l_norm = tf.random.uniform([2, 64, 64, 1], -1, 1, seed=3)
    model.calibrate(l_norm)
    features = model.features(l_norm)
    points = model.draw_points(l_norm, seed=1)
    sparse = model.sparse_logits(features, points)
    dense = model.dense_logits(features, (64, 64))
    for at_points, full in zip(sparse, dense, strict=True):
        expected = tf.gather_nd(full, tf.cast(points, tf.int32), batch_dims=1)
        np.testing.assert_allclose(at_points, expected, atol=2e-4)


@pytest.mark.parametrize("name", sorted(TINY_TRUNKS))
def test_any_photo_size_gives_a_full_size_colouring(name):
    # MobileNets round feature sizes up where VGG16 rounds down; both must fit the grid.
    ab_norm = tiny(name)(tf.random.uniform([1, 70, 101, 1], -1, 1, seed=2))
    assert ab_norm.shape == (1, 70, 101, 2) and np.isfinite(ab_norm.numpy()).all()


def _learnable_batches(size=64, count=4):
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-0.6, 0.6, (count * 2, size, size, 1)).astype("float32")
    ab = np.zeros((count * 2, size, size, 2), "float32")
    ab[:, : size // 2] = [-10 / 110, -40 / 110]
    ab[:, size // 2 :] = [25 / 110, 45 / 110]
    return tf.data.Dataset.from_tensor_slices((l_norm, ab)).batch(2)


@pytest.mark.parametrize("name", sorted(TINY_TRUNKS))
def test_fit_lowers_the_loss(name):
    model = tiny(name, dropout=0.0)
    data = _learnable_batches()
    model.calibrate(next(iter(data))[0])
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(data.repeat(), epochs=3, steps_per_epoch=8, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


@pytest.mark.parametrize("name", ["mobilenet", "mobilenet_v2"])
def test_frozen_stages_are_not_trained(name):
    model = tiny(name, frozen_blocks=2)
    stage_of = trunk_kind(name).stage_of
    for layer in model.trunk.layers:
        stage = stage_of(layer.name)
        if layer.weights and stage is not None:
            assert layer.trainable == (stage > 2), layer.name
    frozen = {v.path for v in model.trunk.non_trainable_weights}
    assert any("conv1" in path.lower() for path in frozen)


@pytest.mark.parametrize("name", ["mobilenet", "mobilenet_v2"])
def test_calibration_takes_batch_statistics_from_the_gray_photos(name):
    model = tiny(name, frozen_blocks=2)
    l_norm = tf.random.uniform([4, 64, 64, 1], -1, 1, seed=4)
    inputs = model.to_trunk_input(l_norm)
    before = model.trunk(inputs, training=False)
    assert model.reestimate_batch_statistics(l_norm) > 0
    # Inference now normalizes with this batch's statistics: training mode's output.
    trainable = [layer.trainable for layer in model.trunk.layers]
    for layer in model.trunk.layers:
        layer.trainable = True
    in_training = model.trunk(inputs, training=True)
    for layer, was in zip(model.trunk.layers, trainable, strict=True):
        layer.trainable = was
    after = model.trunk(inputs, training=False)
    deepest = -1
    np.testing.assert_allclose(after[deepest], in_training[deepest], rtol=1e-2, atol=1e-2)
    assert not np.allclose(before[deepest], after[deepest], atol=1e-2)
    # Frozen layers stay frozen and momentum is restored.
    assert [layer.trainable for layer in model.trunk.layers] == trainable
    norms = [
        layer for layer in model.trunk.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert {layer.momentum for layer in norms} == {0.99}


# VGG16's round trip is in test_models_serialization.py; the MobileNets share their code,
# so bfloat16 is checked on one of them.
@pytest.mark.parametrize(
    "name, dtype",
    [("mobilenet", "float32"), ("mobilenet_v2", "float32"), ("mobilenet_v2", "mixed_bfloat16")],
)
def test_round_trips_config_and_keras_file(name, dtype, tmp_path):
    model = tiny(name, dtype=dtype)
    config = model.get_config()
    assert config["trunk"] == name and config["trunk_alpha"] == TINY_TRUNKS[name]["trunk_alpha"]
    l_norm = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    run_serialization_test(model, lambda m: m.predict_ab(l_norm), tmp_path)


def test_settings_that_do_not_fit_the_trunk_are_refused():
    with pytest.raises(ConfigError, match="trunk must be one of"):
        HypercolumnColorizer(trunk="resnet50")
    with pytest.raises(ConfigError, match="trunk_widths is for the vgg16 trunk"):
        HypercolumnColorizer(trunk="mobilenet", trunk_widths=[4, 8, 8, 8, 8])
    with pytest.raises(ConfigError, match="taps must be layers of mobilenet_v2"):
        HypercolumnColorizer(trunk="mobilenet_v2", taps=["block1_conv2"])
    with pytest.raises(ConfigError, match="VGG16"):
        tiny("mobilenet").load_trunk_weights("hed")


@pytest.mark.parametrize(
    "name, application",
    [
        ("mobilenet", keras.applications.MobileNet),
        ("mobilenet_v2", keras.applications.MobileNetV2),
    ],
)
@pytest.mark.parametrize("layout", ["keras2.h5", "weights.h5"])
def test_trunk_weights_load_from_a_local_file(name, application, layout, tmp_path):
    alpha = TINY_TRUNKS[name]["trunk_alpha"]
    keras.utils.set_random_seed(7)
    source = application(alpha=alpha, include_top=False, weights=None, input_shape=(None, None, 3))
    for variable in source.weights:
        variable.assign(np.random.default_rng(1).normal(size=variable.shape).astype("float32"))
    path = tmp_path / f"trunk.{layout}"
    if layout == "keras2.h5":
        path = tmp_path / "trunk.h5"
        write_keras2_weights(source, path)
    else:
        source.save_weights(path)
    model = tiny(name)
    copied = model.load_trunk_weights(str(path))
    assert len(copied) == sum(1 for layer in model.trunk.layers if layer.weights)
    for layer_name in copied:
        for ours, theirs in zip(
            model.trunk.get_layer(layer_name).get_weights(),
            source.get_layer(layer_name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(ours, theirs)


def test_weights_of_another_width_are_refused_with_the_file_name(tmp_path):
    source = keras.applications.MobileNet(
        alpha=0.5, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    path = tmp_path / "wide.weights.h5"
    source.save_weights(path)
    with pytest.raises(ModelFileError, match="wide.weights.h5"):
        tiny("mobilenet").load_trunk_weights(str(path))


def test_imagenet_reaches_keras_for_online_users(monkeypatch):
    asked = {}
    real = keras.applications.MobileNetV2

    def recording(**kwargs):
        asked.update(kwargs)
        return real(**{**kwargs, "weights": None})

    monkeypatch.setattr(keras.applications, "MobileNetV2", recording)
    assert tiny("mobilenet_v2").load_trunk_weights("imagenet")
    assert asked["weights"] == "imagenet" and asked["alpha"] == 0.35


@pytest.mark.parametrize("name", ["mobilenet", "mobilenet_v2"])
def test_exports_to_tflite_builtins_and_a_savedmodel_matching_keras(name, tmp_path):
    model = tiny(name)
    model.calibrate(tf.random.uniform([2, 64, 64, 1], -1, 1, seed=5))
    flatbuffer = tflite.convert(model, "float32", input_size=64)
    interpreter = Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    l_norm = tf.random.uniform([1, 64, 64, 1], -1, 1, seed=6)
    # The TFLite signature takes L in [0, 100] and gives ab in Lab units.
    (lite,) = runner(lightness=color.denormalize_l(l_norm).numpy()).values()
    np.testing.assert_allclose(lite, color.denormalize_ab(model.predict_ab(l_norm)), atol=0.05)
    folder = export.export_savedmodel(model, tmp_path, name, size=64)
    assert export.verify_savedmodel(folder, model, size=64) < 0.05  # Lab units


def test_mobilenet_stages_follow_the_strides():
    assert mobilenets.mobilenet_stage_of("conv1_bn") == 1
    assert mobilenets.mobilenet_stage_of("conv_pw_1_relu") == 1
    assert mobilenets.mobilenet_stage_of("conv_dw_2") == 2
    assert mobilenets.mobilenet_stage_of("conv_pw_11_relu") == 4
    assert mobilenets.mobilenet_stage_of("conv_pw_13_relu") == 5
    assert mobilenets.mobilenet_v2_stage_of("expanded_conv_project_BN") == 1
    assert mobilenets.mobilenet_v2_stage_of("block_2_add") == 2
    assert mobilenets.mobilenet_v2_stage_of("block_13_expand_relu") == 5
    assert mobilenets.mobilenet_v2_stage_of("out_relu") == 5
    assert hypercolumn_features.GrayToUnitRangeInput()(
        tf.constant([[[[1.0]]]])
    ).numpy().max() == pytest.approx(1.0)
