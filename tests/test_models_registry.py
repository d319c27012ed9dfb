"""The model-kind registry: a third kind, defined here alone, trains, saves, loads,
colorizes and exports through kcolor's own commands, with no change to any other module."""

import importlib.metadata

import keras
import numpy as np
import pytest
from conftest import colour_photo
from helpers.model_harness import run_model_test
from PIL import Image

import kcolor
from kcolor import cli, training
from kcolor.errors import ConfigError
from kcolor.models import registry
from kcolor.models.base import ColorizationModel, base_config, layer_policy
from kcolor.training import config as run_config


@keras.saving.register_keras_serializable(package="kcolor_tests")
class TinyColorizer(ColorizationModel, keras.Model):
    """Two convolutions from ``l_norm`` (B, H, W, 1) to ``ab_norm`` (B, H, W, 2), trained
    with a mean squared error: the least a kcolor model needs to be."""

    def __init__(self, width=4, **kwargs):
        dtype = kwargs.pop("dtype", None)
        super().__init__(dtype=dtype, **kwargs)
        policy = layer_policy({"dtype": dtype})
        self.width = width
        self.hidden = keras.layers.Conv2D(width, 3, padding="same", activation="relu", dtype=policy)
        self.ab = keras.layers.Conv2D(2, 3, padding="same", activation="tanh", dtype=policy)
        # Built now: kcolor copies models through from_config and expects their weights.
        self.build((None, None, None, 1))

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.ab.build((*input_shape[:-1], self.width))
        super().build(input_shape)

    def call(self, l_norm, training=False):
        return self.ab(self.hidden(l_norm))

    def predict_ab(self, l_norm, noise=None, training=False):
        return self(l_norm, training=training)

    def get_config(self):
        return {**base_config(self), "width": self.width}


def build_tiny(request: registry.BuildRequest) -> TinyColorizer:
    arguments = {**request.source_config(), **request.model_args}
    model = TinyColorizer(**arguments)
    request.copy_weights(model)
    optimizer = request.optimizer(request.learning_rate * request.settings["rate_scale"], 1)
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.fixture(autouse=True)
def tiny_kind():
    """The kind registered for one test (and taken out again)."""
    kind = registry.register(
        registry.ModelKind(
            name="tiny",
            description="two convolutions",
            run_defaults={
                "image_size": 16,
                "batch_size": 4,
                "optimizer": "adam",
                "learning_rate": 1e-2,
            },
            settings={"rate_scale": registry.Setting(1.0, float, at_least=0, doc="times the rate")},
            build=build_tiny,
        )
    )
    yield kind
    registry._KINDS.pop("tiny")


def test_the_bundled_kinds_are_registered():
    assert {"hypercolumn", "gan", "tiny"} == set(registry.names())
    assert registry.get("gan").settings["critic_steps"].default == 5


def test_a_tiny_kind_passes_the_model_harness(tmp_path):
    def make(dtype):
        model = TinyColorizer(dtype=dtype)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        return model

    run_model_test(make, tmp_path)


def test_a_registered_kind_trains_colorizes_and_exports_through_the_commands(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(6):
        Image.fromarray(colour_photo(24, 32, index)).save(photos / f"{index}.png")
    run_dir = tmp_path / "run"
    train = ["train", "tiny", "--data", str(photos), "--run-dir", str(run_dir)]
    train += ["--epochs", "1", "--steps-per-epoch", "3", "--set", "val_steps=0"]
    train += ["--set", "preview_images=0", "--set", "model_settings.rate_scale=0.5"]
    assert cli.main(train) == 0
    saved = run_config.load_config(run_dir / "config.yaml")
    assert saved.model == "tiny" and saved.model_settings == {"rate_scale": 0.5}
    assert saved.resolved().image_size == 16  # the kind's default

    model_file = run_dir / "model.keras"
    model = kcolor.load_model(str(model_file))
    assert isinstance(model, TinyColorizer)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(5e-3)

    out = tmp_path / "out"
    assert (
        cli.main(["colorize", str(photos / "0.png"), "-o", str(out), "--model", str(model_file)])
        == 0
    )
    colorized = np.asarray(Image.open(out / "0.png"))
    assert colorized.shape == (24, 32, 3)
    assert np.array_equal(colorized, np.asarray(kcolor.colorize(photos / "0.png", str(model_file))))

    served = tmp_path / "served"
    export = ["export", "--model", str(model_file), "-o", str(served), "--size", "32"]
    assert cli.main(export) == 0
    assert (served / "colorizer" / "1" / "saved_model.pb").is_file()
    lite = tmp_path / "lite"
    export_tflite = ["export", "--model", str(model_file), "-o", str(lite), "--format", "tflite"]
    assert cli.main([*export_tflite, "--variants", "float32", "--input-size", "32"]) == 0
    lite_out = tmp_path / "lite_out"
    lite_file = str(lite / "colorizer_float32.tflite")
    assert (
        cli.main(["colorize", str(photos / "0.png"), "-o", str(lite_out), "--model", lite_file])
        == 0
    )
    assert np.asarray(Image.open(lite_out / "0.png")).shape == (24, 32, 3)

    # Fine-tuning from the run's model keeps the kind's architecture.
    more = run_config.from_dict(
        {
            "model": "tiny",
            "data": [str(photos)],
            "init_from": str(model_file),
            "model_args": {},
            "epochs": 1,
        }  # fmt: skip
    ).resolved()
    again = training.build_model(more)
    assert again.width == model.width
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def test_a_kinds_settings_are_checked():
    with pytest.raises(ConfigError, match=r"not settings of the tiny model.*rate_scale \(times"):
        run_config.from_dict(
            {"model": "tiny", "data": ["x"], "model_settings": {"critic_steps": 2}}
        ).resolved()
    with pytest.raises(ConfigError, match="rate_scale must be at least 0"):
        run_config.from_dict(
            {"model": "tiny", "data": ["x"], "model_settings": {"rate_scale": -1}}
        ).resolved()
    with pytest.raises(
        ConfigError, match=r"model must be one of \(.*'tiny'.*\)\. Received: 'nope' .*tiny: two"
    ):
        run_config.from_dict({"model": "nope", "data": ["x"]}).resolved()


def test_kinds_of_other_installed_packages_load_through_entry_points(monkeypatch):
    group = registry.PLUGIN_GROUP
    found = [
        importlib.metadata.EntryPoint("plugin", "helpers.plugin_kind", group),
        importlib.metadata.EntryPoint("broken", "helpers.no_such_module", group),
    ]
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group: found if group == registry.PLUGIN_GROUP else [],
    )
    try:
        with pytest.warns(RuntimeWarning, match="'broken' .* did not load: ModuleNotFoundError"):
            assert registry.load_plugin_kinds() == ["plugin"]
        assert "plugin_kind" in registry.names()
        assert (
            run_config.from_dict({"model": "plugin_kind", "data": ["x"]}).resolved().image_size
            == 16
        )
    finally:
        registry._KINDS.pop("plugin_kind", None)


def test_an_installed_package_with_the_entry_point_is_found_by_a_new_process(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    # A package installed the way pip lays one out: its module and a .dist-info folder
    # naming the entry point.
    (tmp_path / "kcolor_plugin_example.py").write_text(
        (Path(__file__).parent / "helpers" / "plugin_kind.py").read_text()
    )
    info = tmp_path / "kcolor_plugin_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kcolor-plugin-example\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[kcolor.model_kinds]\nexample = kcolor_plugin_example\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-c", "from kcolor.models import registry; print(registry.names())"],
        capture_output=True, text=True, env=environment, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "plugin_kind" in result.stdout
