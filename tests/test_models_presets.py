"""Bundled weights: float16 storage, manifest, sha256 checks, clear errors."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers.command import run_script

import kcolor
from kcolor.models import DiverseColorGenerator, GuidedColorGenerator, HypercolumnColorizer
from kcolor.models import presets as bundled


def tiny_models():
    hypercolumn = HypercolumnColorizer(
        taps=["block1_conv2", "block2_conv2"],
        # Wide enough in the tapped blocks that float16 storage shows in the file size.
        trunk_widths=[32, 64, 8, 8, 8],
        head_units=64,
        bins=8,
        # The median of a histogram jumps between bins; the expectation moves smoothly,
        # so float16 rounding shows as a small difference.
        decoding="expectation",
        seed=0,
    )
    hypercolumn(np.zeros((1, 32, 32, 1), "float32"))
    generator = DiverseColorGenerator(filters=[64, 64], kernel_sizes=[3, 3, 3], noise_layers=2)
    return {"hypercolumn": hypercolumn, "gan": generator}


def call(model, l_norm):
    if isinstance(model, DiverseColorGenerator):
        noise = np.linspace(-1, 1, model.noise_channels, dtype="float32")
        noise = np.broadcast_to(noise, (*l_norm.shape[:3], model.noise_channels))
        return np.asarray(model([l_norm, noise]))
    return np.asarray(model(l_norm))


def test_write_then_load_gives_the_same_model_in_float16_storage(tmp_path):
    models = tiny_models()
    for name, model in models.items():
        bundled.write(model, name, tmp_path, {"metrics": {"psnr": 1.0}})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["default"] == "hypercolumn"
    assert bundled.available(tmp_path) == ["gan", "hypercolumn"]

    # Layers created first give the loading process other automatic layer names.
    keras.layers.Dense(3)
    keras.Sequential([keras.layers.Dense(2)])
    l_norm = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    for name, model in models.items():
        entry = manifest["models"][name]
        assert entry["metrics"] == {"psnr": 1.0} and len(entry["sha256"]) == 64
        loaded = bundled.load(name, tmp_path)
        assert type(loaded) is type(model)
        assert all(weight.dtype == "float32" for weight in loaded.weights)
        # float16 storage: about 3 significant digits per weight.
        np.testing.assert_allclose(call(loaded, l_norm), call(model, l_norm), atol=0.02)
        full = tmp_path / f"{name}-float32.weights.h5"
        model.save_weights(full)
        assert entry["bytes"] < 0.65 * full.stat().st_size
    assert isinstance(bundled.load(None, tmp_path), HypercolumnColorizer)


def test_a_model_trained_in_mixed_precision_is_stored_to_compute_in_float32(tmp_path):
    model = HypercolumnColorizer(
        trunk="mobilenet_v2", trunk_alpha=0.35, head_units=8, bins=8, dtype="mixed_bfloat16"
    )
    model(np.zeros((1, 32, 32, 1), "float32"))
    bundled.write(model, "mixed", tmp_path, {})
    loaded = bundled.load("mixed", tmp_path)
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert loaded.dtype_policy.name == "float32" and loaded.compute_dtype == "float32"
    output = loaded.predict_ab(np.zeros((1, 32, 32, 1), "float32"))
    assert output.dtype == "float32"


def test_missing_or_corrupt_weights_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no bundled models"):
        bundled.load("hypercolumn", tmp_path)
    model = tiny_models()["gan"]
    bundled.write(model, "gan", tmp_path, {})
    with pytest.raises(FileNotFoundError, match="No bundled model named 'unet'"):
        bundled.load("unet", tmp_path)

    weights = tmp_path / "gan.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"gan.weights.h5.*corrupt.*sha256"):
        bundled.load("gan", tmp_path)
    weights.unlink()
    with pytest.raises(FileNotFoundError, match=r"gan.weights.h5.*missing"):
        bundled.load("gan", tmp_path)
    assert not list(tmp_path.glob("partial-*"))


def test_a_guided_gan_is_bundled_without_a_second_copy_of_its_guide(tmp_path):
    hypercolumn = tiny_models()["hypercolumn"]
    bundled.write(hypercolumn, "hypercolumn", tmp_path, {})
    # The guide as training gets it: the bundled model, loaded from its float16 storage.
    guide = bundled.load("hypercolumn", tmp_path)
    generator = DiverseColorGenerator(
        filters=[16, 16], kernel_sizes=[3, 3, 3], noise_layers=2, guided=True
    )
    guided = GuidedColorGenerator(generator, guide)
    entry = bundled.write(guided, "gan", tmp_path, {}, guide="hypercolumn")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert entry["guide"] == {
        "name": "hypercolumn",
        "sha256": manifest["models"]["hypercolumn"]["sha256"],
    }
    assert entry["bytes"] < 0.5 * manifest["models"]["hypercolumn"]["bytes"]

    loaded = bundled.load("gan", tmp_path)
    assert isinstance(loaded, GuidedColorGenerator) and not loaded.guide.trainable
    l_norm = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    noise = np.full((1, 32, 32, generator.noise_channels), 0.5, "float32")
    np.testing.assert_allclose(loaded.guide_ab(l_norm), guided.guide_ab(l_norm), atol=1e-6)
    np.testing.assert_allclose(loaded([l_norm, noise]), guided([l_norm, noise]), atol=0.02)

    # A guide other than the bundled model is refused when bundling...
    other = GuidedColorGenerator(
        DiverseColorGenerator.from_config(generator.get_config()),
        HypercolumnColorizer.from_config(hypercolumn.get_config()),
    )
    with pytest.raises(ValueError, match="not the bundled 'hypercolumn' model"):
        bundled.write(other, "gan", tmp_path, {}, guide="hypercolumn")
    # ... and a re-bundled guide no longer matches the GAN trained with it.
    hypercolumn.get_layer("hue_logits").bias.assign(np.ones(8, "float32"))
    bundled.write(hypercolumn, "hypercolumn", tmp_path, {})
    with pytest.raises(ValueError, match="different 'hypercolumn' model"):
        bundled.load("gan", tmp_path)


def test_bundle_script_stores_a_run_with_its_record(tmp_path):
    from conftest import colour_photo
    from PIL import Image

    from kcolor import training
    from kcolor.training import config as run_config

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(6):
        Image.fromarray(colour_photo(40, 40, index)).save(photos / f"{index}.jpg")
    config = run_config.from_dict(
        {
            "model": "gan",
            "data": [str(photos)],
            "image_size": 16,
            "batch_size": 2,
            "epochs": 2,
            "steps_per_epoch": 2,
            "critic_steps": 1,
            "preview_images": 0,
            "checkpoint_every": 1,
            "model_args": {
                "generator": {"filters": [8], "kernel_sizes": [3, 3], "noise_layers": 1},
                "critic": {"filters": [4], "dense_units": 4},
            },
        }
    )
    training.train(config, tmp_path / "run", verbose=0)
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "images": 3,
                "model": {"psnr": 23.0, "diversity": 4.0},
                "no_colour": {"psnr": 22.0},
                "photo_colorfulness": 30.0,
                "per_image": [],
            }
        )
    )
    folder = tmp_path / "weights"
    mix = tmp_path / "mix.json"
    mix.write_text(
        json.dumps(
            {
                "mean_tint": [1.5, 7.0],
                "sources": {"scenes": {"title": "Some scenes", "weight": 0.7}},
            }
        )
    )
    result = run_script(
        Path(__file__).parent.parent / "scripts" / "bundle_weights.py",
        tmp_path / "run",
        *("--name", "gan", "--report", report, "--folder", folder),
        *("--compare", photos, "--mix", mix),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stored weights against the run's on 6 photo(s)" in result.stdout
    manifest = bundled.read_manifest(folder)
    assert manifest["mean_tint"]["ab"] == [1.5, 7.0]
    assert "Some scenes (weight 0.7)" in manifest["mean_tint"]["about"]
    entry = manifest["models"]["gan"]
    # Sources by name, never by where they lay on the machine that trained the model.
    assert str(tmp_path) not in json.dumps(manifest)
    assert entry["training"]["config"]["data"] == [f"{tmp_path.name}/photos"]
    assert entry["training"]["steps"] == 4 and entry["training"]["images_seen"] == 8
    assert entry["training"]["wall_seconds"] is not None
    assert len(entry["training"]["history"]) == 2
    assert entry["metrics"]["model"]["diversity"] == 4.0
    final = bundled.load("gan", folder)
    assert isinstance(final, DiverseColorGenerator)

    # An earlier epoch, chosen on held-out photos, through its checkpoint.
    scripts = Path(__file__).parent.parent / "scripts"
    first_epoch = tmp_path / "epoch1.keras"
    for command in (
        [scripts / "checkpoint_model.py", tmp_path / "run", "1", "-o", first_epoch],
        [
            scripts / "bundle_weights.py",
            tmp_path / "run",
            "--name",
            "gan",
            "--checkpoint",
            "1",
            "--folder",
            tmp_path / "early",
        ],
    ):
        result = run_script(*command)
        assert result.returncode == 0, result.stderr[-3000:]
    early = bundled.read_manifest(tmp_path / "early")["models"]["gan"]["training"]
    assert early["epochs"] == 1 and len(early["history"]) == 1 and early["steps"] == 2
    saved = keras.saving.load_model(first_epoch).generator
    loaded = bundled.load("gan", tmp_path / "early")
    l_norm = np.random.default_rng(2).uniform(-1, 1, (1, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(call(loaded, l_norm), call(saved, l_norm), atol=0.02)
    assert np.abs(call(loaded, l_norm) - call(final, l_norm)).max() > 1e-4
    missing = run_script(
        scripts / "checkpoint_model.py", tmp_path / "run", "7", "-o", tmp_path / "epoch7.keras"
    )
    assert missing.returncode == 1 and "no checkpoint of epoch 7" in missing.stderr


def test_the_shipped_models_load_checked_and_fit_the_budget():
    manifest = bundled.read_manifest()
    assert manifest["default"] == "mobilenet_v2"
    assert set(manifest["models"]) == {"mobilenet_v2", "hypercolumn", "gan"}
    files = list(bundled.weights_folder().iterdir())
    assert sum(path.stat().st_size for path in files) <= 50_000_000
    for entry in manifest["models"].values():
        assert entry["sha256"] == bundled.sha256_of(bundled.weights_folder() / entry["file"])
        assert entry["training"]["steps"] > 0 and entry["training"]["data"]
        assert entry["metrics"]["model"]["psnr"] > 0
    default = kcolor.load_model()
    assert isinstance(default, HypercolumnColorizer) and default.trunk_name == "mobilenet_v2"
    assert kcolor.load_model("mobilenet_v2") is default
    assert kcolor.load_model("hypercolumn").trunk_name == "vgg16"  # the paper's model
    gan = kcolor.load_model("gan")
    # The GAN is guided by the bundled default model, whose weights it does not repeat.
    assert isinstance(gan, GuidedColorGenerator) and gan.generator.guided
    assert manifest["models"]["gan"]["guide"] == {
        "name": "mobilenet_v2",
        "sha256": manifest["models"]["mobilenet_v2"]["sha256"],
    }
    assert manifest["models"]["gan"]["bytes"] < 1_000_000
