"""kcolor train: run config, run directory, TensorBoard summaries, resume after a kill."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from conftest import colour_photo
from helpers.command import run_script
from PIL import Image

import kcolor
from kcolor import training
from kcolor.training import config as run_config

TINY_HYPERCOLUMN = {
    "trunk_weights": None,
    "taps": ["block1_conv2", "block2_conv2"],
    "trunk_widths": [4, 8, 8, 8, 8],
    "head_units": 8,
    "bins": 8,
    "sample_points": 16,
}
TINY_GAN = {
    "generator": {"filters": [8, 6], "kernel_sizes": [3, 3, 3], "noise_channels": 2},
    "critic": {"filters": [4], "kernel_size": 3, "dense_units": 4},
}


@pytest.fixture(scope="module")
def photo_folders(tmp_path_factory):
    """(train, val): 12 and 4 synthetic colour JPEGs."""
    root = tmp_path_factory.mktemp("training_photos")
    folders = []
    for name, count, offset in (("train", 12, 0), ("val", 4, 100)):
        folder = root / name
        folder.mkdir()
        for index in range(count):
            Image.fromarray(colour_photo(40, 48, offset + index)).save(folder / f"{index}.jpg")
        folders.append(str(folder))
    return folders


def tiny_config(model, photo_folders, **settings):
    train, val = photo_folders
    values = {
        "model": model,
        "data": [train],
        "val": [val],
        "image_size": 32 if model == "hypercolumn" else 16,
        "batch_size": 4,
        "epochs": 2,
        "steps_per_epoch": 2,
        "val_steps": 1,
        "preview_images": 2,
        "preview_samples": 3,
        "checkpoint_every": 1,
        "model_args": TINY_HYPERCOLUMN if model == "hypercolumn" else TINY_GAN,
        "model_settings": {} if model == "hypercolumn" else {"critic_steps": 2},
    }
    values.update(settings)
    return run_config.from_dict(values)


def summary_tags(log_dir: Path) -> dict[str, set[str]]:
    """{run name: tags written} for every event file under a TensorBoard log folder."""
    tags = {}
    for events in log_dir.rglob("events.out.tfevents.*"):
        run = tags.setdefault(events.parent.name, set())
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            run.update(value.tag for value in event.summary.value)
    return tags


def preview_image(log_dir: Path) -> np.ndarray:
    """The last preview grid logged: uint8 (H, W, 3)."""
    found = None
    for events in (log_dir / "validation").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag.startswith("preview"):
                    # An image summary tensor holds [width, height, encoded PNG].
                    found = tf.io.decode_png(tf.make_ndarray(value.tensor)[2]).numpy()
    assert found is not None, "no preview image logged"
    return found


# --- run config -----------------------------------------------------------------------


def test_config_files_overrides_and_defaults(tmp_path):
    yaml_path = tmp_path / "run.yaml"
    yaml_path.write_text("model: gan\ndata: [photos]\nepochs: 3\nmodel_args: {critic: {}}\n")
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps({"model": "gan", "data": ["photos"], "epochs": 3}))
    from_yaml = run_config.load_config(yaml_path)
    assert run_config.load_config(json_path).epochs == from_yaml.epochs == 3

    config = run_config.with_overrides(
        from_yaml,
        ["learning-rate=3e-4", "model_args.critic.filters=[8, 16]", "val=[a, b]", "seed=7"],
    ).resolved()
    assert config.learning_rate == pytest.approx(3e-4)
    assert config.model_args == {"critic": {"filters": [8, 16]}}
    assert config.val == ["a", "b"] and config.seed == 7
    # The GAN's defaults: its critic is built for 64x64 crops.
    assert config.image_size == 64 and config.optimizer == "rmsprop"
    assert run_config.RunConfig(data=["x"]).resolved().image_size == 128

    saved = tmp_path / "saved.yaml"
    config.save(saved)
    assert run_config.load_config(saved) == config


@pytest.mark.parametrize(
    "values, message",
    [
        ({"data": ["x"], "modle": "gan"}, "unknown setting"),
        ({"data": ["x"], "model": "unet"}, "model must be one of"),
        ({"data": []}, "No training data"),
        ({"data": ["x"], "schedule": "linear"}, "schedule must be one of"),
        ({"data": ["x"], "batch_size": 0}, "batch_size must be at least 1"),
        ({"data": ["x"], "mixed_precision": "mixed_float16"}, "mixed_precision must be"),
        ({"data": ["x"], "epochs": "1e99"}, "epochs must be at most 1,000,000,000"),
        ({"data": ["x"], "learning_rate": "nan"}, "learning_rate must be a finite number"),
        ({"data": ["x"], "ema_momentum": "inf"}, "ema_momentum must be a finite number"),
    ],
)
def test_config_rejects_bad_settings(values, message):
    with pytest.raises(ValueError, match=message):
        run_config.from_dict(values).resolved()


def test_config_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        run_config.load_config(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="list.yaml: expected a mapping"):
        run_config.load_config(listing)
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        run_config.with_overrides(run_config.RunConfig(), ["epochs"])


# What the previous version wrote into every run's config.yaml: all kinds' settings at
# the top level, the ones a kind does not use as their defaults or as null.
_EARLIER_RUN_SETTINGS = {
    "critic_learning_rate": None, "critic_steps": 5, "clip_value": 0.01,
    "gradient_penalty": None, "l1_weight": 0.0, "l1_best_of": 1, "gan_loss": "wasserstein",
    "guide": None, "calibrate": True, "prior_batches": 20,
}  # fmt: skip


@pytest.mark.parametrize("model", ["hypercolumn", "gan"])
def test_run_configs_of_the_previous_version_load_and_resume_unchanged(model, tmp_path):
    earlier = {"model": model, "data": ["x"], **_EARLIER_RUN_SETTINGS}
    if model == "gan":
        earlier.update(critic_learning_rate=1e-4, critic_steps=3, guide="mobilenet_v2")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(earlier))
    saved = run_config.load_config(path).resolved()
    if model == "gan":
        assert saved.model_settings["critic_steps"] == 3
        assert saved.model_settings["guide"] == "mobilenet_v2"
    else:
        assert saved.model_settings == {"calibrate": True, "prior_batches": 20}
    # The same run written the new way is the same run: it resumes.
    current = run_config.from_dict(
        {"model": model, "data": ["x"], "model_settings": saved.model_settings}
    ).resolved()
    assert run_config.differences(saved, current) == []


@pytest.mark.parametrize("schedule", ["cosine", "exponential"])
def test_learning_rate_schedules_decay(schedule):
    config = run_config.from_dict(
        {"data": ["x"], "schedule": schedule, "warmup_steps": 5, "epochs": 4}
    ).resolved()
    model = training.build_model(
        run_config.with_overrides(config, [f"model_args={json.dumps(TINY_HYPERCOLUMN)}"])
    )
    total = config.epochs * config.steps_per_epoch
    rates = []
    for step in (0, 5, total // 2, total - 1):
        model.optimizer.iterations.assign(step)
        rates.append(float(model.optimizer.learning_rate))
    assert rates[1] == pytest.approx(config.learning_rate, rel=0.02)
    assert rates[3] < rates[2] < rates[1]
    if schedule == "cosine":
        assert rates[0] == 0.0 and rates[3] < 0.01 * config.learning_rate


# --- training runs ----------------------------------------------------------------------


def test_hypercolumn_run_writes_everything_and_logs_to_tensorboard(tmp_path, photo_folders):
    run_dir = tmp_path / "run"
    result = training.train(tiny_config("hypercolumn", photo_folders), run_dir, verbose=0)

    for name in ("config.yaml", "history.csv", "model.keras", "model.weights.h5"):
        assert (run_dir / name).is_file(), name
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "epoch_001.weights.h5",
        "epoch_002.weights.h5",
    ]
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["image_size"] == 32
    assert not list(run_dir.glob("partial-*"))

    tags = summary_tags(run_dir / "logs")
    assert {
        "epoch_loss",
        "epoch_learning_rate",
        "epoch_steps_per_second",
        "epoch_images_per_second",
        "epoch_epoch_seconds",
    } <= tags["train"]
    assert {"epoch_loss", "epoch_psnr", "epoch_colorfulness"} <= tags["validation"]
    grid = preview_image(run_dir / "logs")
    # Two rows of 32 px; gray | prediction | truth across.
    assert grid.shape == (2 * 32, 3 * 32, 3)
    # The truth column is in colour, the gray column is not.
    gray, truth = grid[:, :32].astype(int), grid[:, 64:].astype(int)
    assert np.abs(gray[..., 0] - gray[..., 2]).max() <= 2
    assert np.abs(truth[..., 0] - truth[..., 2]).mean() > 20

    assert len(result.history["loss"]) == 2
    assert np.isfinite(result.history["val_psnr"]).all()
    reloaded = kcolor.load_model(run_dir / "model.keras")
    assert reloaded.optimizer.iterations.numpy() == 4
    l_norm = np.zeros((1, 32, 32, 1), "float32")
    np.testing.assert_allclose(reloaded(l_norm), result.model(l_norm), atol=1e-5)


@pytest.mark.parametrize(
    "model_args",
    [
        {"trunk": "mobilenet_v2", "trunk_alpha": 0.35, "frozen_blocks": 1, "head_units": 8},
        {**TINY_HYPERCOLUMN, "rebalance": 0.5},
    ],
    ids=["mobilenet_v2", "rebalanced"],
)
def test_small_trunk_and_rebalanced_runs(tmp_path, photo_folders, model_args):
    config = tiny_config("hypercolumn", photo_folders, model_args=model_args, prior_batches=2)
    result = training.train(config, tmp_path / "run", verbose=0)
    assert np.isfinite(result.history["loss"]).all()
    reloaded = kcolor.load_model(tmp_path / "run" / "model.keras")
    for key, value in model_args.items():
        if key != "trunk_weights":
            assert reloaded.get_config()[key] == value, key
    if "rebalance" in model_args:
        assert result.model.color_weights.shape == (8, 8)
    l_norm = np.zeros((1, 64, 64, 1), "float32")
    np.testing.assert_allclose(reloaded(l_norm), result.model(l_norm), atol=1e-5)


def test_gan_run_shows_noise_samples_side_by_side(tmp_path, photo_folders):
    run_dir = tmp_path / "run"
    config = tiny_config("gan", photo_folders, mixed_precision="mixed_bfloat16")
    result = training.train(config, run_dir, verbose=0)

    assert keras.mixed_precision.global_policy().name == "float32", "policy must be restored"
    tags = summary_tags(run_dir / "logs")
    assert {
        "epoch_critic_loss",
        "epoch_generator_loss",
        "epoch_generator_learning_rate",
        "epoch_critic_learning_rate",
        "epoch_learning_rate",
        "epoch_steps_per_second",
    } <= tags["train"]
    assert {"epoch_psnr", "epoch_colorfulness", "epoch_diversity"} <= tags["validation"]
    # gray | 3 samples | truth
    assert preview_image(run_dir / "logs").shape == (2 * 16, 5 * 16, 3)
    assert result.history["val_diversity"][-1] > 0
    gan = kcolor.load_model(run_dir / "model.keras")
    assert gan.generator_optimizer.iterations.numpy() == 4
    assert gan.critic_optimizer.iterations.numpy() == 4 * config.model_settings["critic_steps"]


def test_changed_settings_do_not_silently_resume(tmp_path, photo_folders):
    run_dir = tmp_path / "run"
    training.train(tiny_config("hypercolumn", photo_folders, epochs=1), run_dir, verbose=0)
    with pytest.raises(ValueError, match="different settings.*learning_rate"):
        training.train(
            tiny_config("hypercolumn", photo_folders, epochs=1, learning_rate=0.5),
            run_dir,
            verbose=0,
        )
    # Finished: the same settings again do nothing; more epochs continue the run.
    assert (
        training.train(
            tiny_config("hypercolumn", photo_folders, epochs=1), run_dir, verbose=0
        ).model
        is None
    )
    more = training.train(tiny_config("hypercolumn", photo_folders, epochs=2), run_dir, verbose=0)
    assert more.initial_epoch == 1 and len(more.history["loss"]) == 1
    assert more.model.optimizer.iterations.numpy() == 4

    # A backup newer than the final model (a longer run stopped early): starting it again
    # with the epochs already done writes the final model from the backup.
    metadata = run_dir / "backup" / "worker_0" / "training_metadata.json"
    os.utime(run_dir / "model.keras", (1, 1))
    again = training.train(tiny_config("hypercolumn", photo_folders, epochs=2), run_dir, verbose=0)
    assert again.model is not None and again.history == {}
    assert (run_dir / "model.keras").stat().st_mtime >= metadata.stat().st_mtime
    assert kcolor.load_model(str(run_dir / "model.keras")).optimizer.iterations.numpy() == 4


# The guard is one callback for both models; the hypercolumn run is the long form.
@pytest.mark.parametrize("model", [pytest.param("hypercolumn", marks=pytest.mark.large), "gan"])
def test_a_diverging_run_stops_and_keeps_its_last_good_state(tmp_path, photo_folders, model):
    run_dir = tmp_path / "run"
    healthy = tiny_config(model, photo_folders, epochs=1)
    training.train(healthy, run_dir, verbose=0)
    (run_dir / "model.keras").unlink()
    good = (run_dir / "backup" / "worker_0" / "latest.weights.h5").read_bytes()
    # An absurd learning rate blows the weights up within a few steps.
    diverging = run_config.with_overrides(
        healthy, ["epochs=4", "steps_per_epoch=6", "learning_rate=1e30", "optimizer=sgd"]
    )
    with pytest.raises(training.TrainingDiverged, match="NaN or infinite"):
        training.train(diverging, tmp_path / "diverging", verbose=0)
    assert not (tmp_path / "diverging" / "model.keras").exists()
    # Resuming the healthy run from its backup is still possible.
    assert (run_dir / "backup" / "worker_0" / "latest.weights.h5").read_bytes() == good


def _train_command(run_dir, photo_folders, epochs):
    train, val = photo_folders
    return [
        sys.executable,
        "-m",
        "kcolor.cli",
        "train",
        "gan",
        "--data",
        train,
        "--val",
        val,
        "--run-dir",
        str(run_dir),
        "--image-size",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        str(epochs),
        "--steps-per-epoch",
        "8",
        "--set",
        f"model_args={json.dumps(TINY_GAN)}",
        "--set",
        "critic_steps=2",
    ]


def test_a_run_killed_while_writing_its_backup_resumes_from_the_last_complete_epoch(
    tmp_path, photo_folders
):
    run_dir = tmp_path / "run"
    command = _train_command(run_dir, photo_folders, 3)
    helper = Path(__file__).parent / "helpers" / "paused_backup_run.py"
    first = subprocess.Popen(
        [sys.executable, str(helper), *command[3:]], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        for line in first.stdout:
            if line.strip() == "PAUSED":
                break
    finally:
        first.kill()
        first.communicate()
    backup = run_dir / "backup" / "worker_0"
    assert list(backup.glob(".partial-*")), "the kill did not come during the write"
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "trained epochs 2-3" in second.stdout
    assert not list(backup.glob(".partial-*"))
    gan = kcolor.load_model(run_dir / "model.keras")
    assert gan.generator_optimizer.iterations.numpy() == 3 * 8


# The long form of resuming: a real process killed mid-run. Resuming from the backup a
# stopped run leaves is also checked in process, in the test above.
@pytest.mark.large
def test_a_killed_run_resumes_where_it_stopped(tmp_path, photo_folders):
    run_dir = tmp_path / "run"
    epochs = 40
    command = _train_command(run_dir, photo_folders, epochs)
    metadata = run_dir / "backup" / "worker_0" / "training_metadata.json"
    first = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None:
        if metadata.is_file() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 2:
            break
        time.sleep(0.05)
    assert first.poll() is None, "the run ended before it could be killed"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    saved_epoch = json.loads(metadata.read_text())["epoch"]
    assert 2 <= saved_epoch < epochs
    assert not (run_dir / "model.keras").exists()

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"trained epochs {saved_epoch + 1}-{epochs}" in second.stdout
    gan = kcolor.load_model(run_dir / "model.keras")
    # Steps of the killed run's saved epochs plus the resumed ones, none twice.
    assert gan.generator_optimizer.iterations.numpy() == epochs * 8
    assert gan.critic_optimizer.iterations.numpy() == epochs * 8 * 2


@pytest.mark.parametrize("model", ["hypercolumn", "gan"])
def test_training_scripts_and_configs(tmp_path, photo_folders, model):
    root = Path(__file__).parent.parent
    config = run_config.load_config(root / "scripts" / "configs" / f"{model}.yaml")
    assert config.model == "hypercolumn" or config.image_size == 64
    train, val = photo_folders
    # The script runs kcolor train MODEL: a tiny run with the shipped settings' file.
    result = run_script(
        *[
            root / "scripts" / f"train_{model}.py",
            "--config",
            str(root / "scripts" / "configs" / f"{model}.yaml"),
            "--data",
            train,
            "--val",
            val,
            "--run-dir",
            str(tmp_path / "run"),
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--image-size",
            "32" if model == "hypercolumn" else "16",
            "--batch-size",
            "2",
            "--set",
            f"model_args={json.dumps(TINY_HYPERCOLUMN if model == 'hypercolumn' else TINY_GAN)}",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    saved = run_config.load_config(tmp_path / "run" / "config.yaml")
    assert saved.mixed_precision == config.mixed_precision == "mixed_bfloat16"
    assert (tmp_path / "run" / "model.keras").is_file()


# The long form of test_one_update_is_the_same_on_one_and_two_replicas and the models'
# test_fit_under_a_mirrored_strategy: whole kcolor train runs of both models.
@pytest.mark.large
def test_mirrored_strategy_run_over_two_replicas(tmp_path, photo_folders):
    from conftest import run_with_two_cpu_replicas

    body = f"""
    from kcolor import training
    from kcolor.training import config as run_config
    for model, args in (("hypercolumn", {TINY_HYPERCOLUMN!r}), ("gan", {TINY_GAN!r})):
        config = run_config.from_dict({{
            "model": model, "data": [{photo_folders[0]!r}], "val": [{photo_folders[1]!r}],
            "image_size": 32 if model == "hypercolumn" else 16, "batch_size": 4,
            "epochs": 1, "steps_per_epoch": 2, "val_steps": 1,
            "model_settings": {{"critic_steps": 1}} if model == "gan" else {{}},
            "model_args": args, "strategy": "mirrored",
        }})
        result = training.train(config, {str(tmp_path)!r} + "/" + model, strategy, verbose=0)
        print(model, result.model.distribute_strategy.num_replicas_in_sync,
              len(result.history["val_psnr"]))
    """
    output = run_with_two_cpu_replicas(body)
    assert "hypercolumn 2 1" in output and "gan 2 1" in output


def test_one_update_is_the_same_on_one_and_two_replicas():
    from conftest import run_with_two_cpu_replicas

    # Sampled points and noise drawn per replica would differ from one device's draws;
    # fixed points and noise made from each image keep the comparison exact.
    body = """
    import keras, numpy as np, tensorflow as tf
    from kcolor.models import (
        ColorCritic, DiverseColorGAN, DiverseColorGenerator, HypercolumnColorizer)

    class FixedPoints(HypercolumnColorizer):
        def draw_points(self, l_norm, seed=None):
            rows, cols = tf.meshgrid(tf.range(0.0, 32.0, 4.0), tf.range(0.0, 32.0, 4.0))
            grid = tf.reshape(tf.stack([rows, cols], -1), (1, 64, 2))
            return tf.broadcast_to(grid, (tf.shape(l_norm)[0], 64, 2))

    class NoiseFromImage(DiverseColorGAN):
        def noise(self, l_norm, seed=None):
            shape = tf.shape(l_norm)
            level = tf.reduce_mean(l_norm, axis=[1, 2, 3], keepdims=True)
            return tf.broadcast_to(level, (shape[0], shape[1], shape[2], 2))

    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (4, 32, 32, 1)).astype("float32")
    ab_norm = rng.uniform(-0.5, 0.5, (4, 32, 32, 2)).astype("float32")

    def build(kind):
        keras.utils.set_random_seed(1)
        if kind == "hypercolumn":
            model = FixedPoints(taps=["block1_conv2", "block2_conv2"],
                                trunk_widths=[4, 8, 8, 8, 8],
                                head_units=8, bins=8, dropout=0.0, seed=0)
            model.compile(optimizer=keras.optimizers.SGD(0.5))
        else:
            generator = DiverseColorGenerator(filters=[8, 6], kernel_sizes=[3, 3, 3],
                                              noise_channels=2)
            critic = ColorCritic(32, [4], 3, 4, normalization="layer")
            model = NoiseFromImage(generator, critic, seed=0)
            model.compile(generator_optimizer=keras.optimizers.SGD(0.5),
                          critic_optimizer=keras.optimizers.SGD(0.5), critic_steps=1)
        model(l_norm[:1])
        return model

    for kind in ("hypercolumn", "gan"):
        updated = []
        for chosen in (tf.distribute.get_strategy(), strategy):
            with chosen.scope():
                model = build(kind)
            before = model.get_weights()
            data = tf.data.Dataset.from_tensors((l_norm, ab_norm))
            history = model.fit(data, epochs=1, verbose=0, shuffle=False).history
            after = model.get_weights()
            updated.append([a - b for a, b in zip(after, before)])
            print(kind, chosen.num_replicas_in_sync, sorted(history.items())[0])
        steps = [np.concatenate([u.ravel() for u in update]) for update in updated]
        assert np.abs(steps[0]).max() > 1e-4, kind
        ratio = np.abs(steps[1] - steps[0]).max() / np.abs(steps[0]).max()
        print(kind, "relative difference", ratio)
        assert ratio < 1e-3, (kind, ratio)
    """
    output = run_with_two_cpu_replicas(body)
    assert "hypercolumn relative difference" in output and "gan relative difference" in output


# --- fine-tuning and mixed data --------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(photo_folders, tmp_path_factory):
    """A finished tiny hypercolumn run (2 epochs): a model to fine-tune from."""
    return training.train(
        tiny_config("hypercolumn", photo_folders), tmp_path_factory.mktemp("run"), verbose=0
    )


def _weights_equal(first, second) -> bool:
    return all(
        np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights(), strict=True)
    )


def test_init_from_loads_the_weights_with_a_fresh_optimizer(finished_run, photo_folders):
    source = finished_run
    trained = keras.saving.load_model(source.model_path)
    weights_file = source.model_path.parent / "model.weights.h5"
    for init_from in (str(source.model_path), str(weights_file)):
        config = tiny_config("hypercolumn", photo_folders, init_from=init_from, seed=5).resolved()
        model = training.build_model(config)
        assert _weights_equal(model, trained), init_from
        assert int(model.optimizer.iterations) == 0
    # A .keras file brings its architecture: no model_args needed to fine-tune it.
    config = tiny_config("hypercolumn", photo_folders, init_from=str(source.model_path))
    config.model_args = {}
    assert training.build_model(config.resolved()).taps == TINY_HYPERCOLUMN["taps"]
    config.model_args = {"head_units": 4}
    with pytest.raises(ValueError, match="does not fit this hypercolumn model"):
        training.build_model(config.resolved())


def test_a_finished_fine_tune_resumes_with_more_epochs(tmp_path, photo_folders, finished_run):
    settings = {"init_from": str(finished_run.model_path), "epochs": 1, "ema_momentum": 0.9}
    first = training.train(tiny_config("hypercolumn", photo_folders, **settings), tmp_path / "b")
    assert first.initial_epoch == 0 and len(first.history["loss"]) == 1
    settings["epochs"] = 2
    more = training.train(tiny_config("hypercolumn", photo_folders, **settings), tmp_path / "b")
    # The second call continues from the backup of epoch 1; it does not start over from
    # the init_from weights.
    assert more.initial_epoch == 1 and len(more.history["loss"]) == 1
    assert not _weights_equal(more.model, first.model)


def test_gan_init_from_a_generator_keeps_a_fresh_critic(tmp_path, photo_folders):
    source = training.train(tiny_config("gan", photo_folders, epochs=1), tmp_path / "a", verbose=0)
    generator_path = tmp_path / "generator.keras"
    source.model.generator.save(generator_path)
    config = tiny_config("gan", photo_folders, init_from=str(generator_path)).resolved()
    model = training.build_model(config)
    assert _weights_equal(model.generator, source.model.generator)
    full = tiny_config("gan", photo_folders, init_from=str(source.model_path)).resolved()
    assert _weights_equal(training.build_model(full).critic, source.model.critic)


def test_a_guided_gan_trains_saves_and_continues_with_its_frozen_guide(tmp_path, photo_folders):
    from kcolor.models import GuidedColorGenerator, HypercolumnColorizer

    guide_path = tmp_path / "guide.keras"
    guide = HypercolumnColorizer.from_config(TINY_HYPERCOLUMN)  # random trunk weights
    guide(np.zeros((1, 32, 32, 1), "float32"))
    guide.save(guide_path)
    settings = {"guide": str(guide_path), "gradient_penalty": 10.0, "clip_value": None}
    first = training.train(
        tiny_config("gan", photo_folders, epochs=1, **settings), tmp_path / "a", verbose=0
    )
    loaded = keras.saving.load_model(first.model_path)
    assert isinstance(loaded.generator, GuidedColorGenerator)
    assert _weights_equal(loaded.generator.guide, guide)
    # Continued from the run's model without naming a guide: the guide comes with it.
    settings.pop("guide")
    continued = training.build_model(
        tiny_config("gan", photo_folders, init_from=str(first.model_path), **settings).resolved()
    )
    assert isinstance(continued.generator, GuidedColorGenerator)
    assert _weights_equal(continued.generator, loaded.generator)
    assert _weights_equal(continued.generator.guide, guide)
    # From the guided generator alone (what the bundled GAN is), the guide comes too.
    generator_path = tmp_path / "guided_generator.keras"
    loaded.generator.save(generator_path)
    from_generator = training.build_model(
        tiny_config("gan", photo_folders, init_from=str(generator_path), **settings).resolved()
    )
    assert _weights_equal(from_generator.generator, loaded.generator)
    with pytest.raises(ValueError, match="guide is a setting of the gan model, not of hypercolumn"):
        tiny_config("hypercolumn", photo_folders, guide=str(guide_path)).resolved()
    with pytest.raises(FileNotFoundError, match="neither a bundled model"):
        training.build_model(tiny_config("gan", photo_folders, guide="nowhere.keras").resolved())


def test_weighted_data_items_and_config_files_beside_their_data(tmp_path, photo_folders):
    train, _ = photo_folders
    mix = tmp_path / "mix"
    mix.mkdir()
    os.symlink(train, mix / "scenes")
    (mix / "data.yaml").write_text(
        "data:\n  - {name: scenes, path: scenes, weight: 3}\n  - {path: " + train + "}\n"
    )
    (tmp_path / "settings.yaml").write_text("epochs: 4\ndata: [elsewhere]\n")
    config = run_config.load_config(tmp_path / "settings.yaml", mix / "data.yaml").resolved()
    assert config.epochs == 4
    assert config.data == [
        {"path": str(mix / "scenes"), "weight": 3.0, "name": "scenes"},
        {"path": train, "weight": 1.0},
    ]
    assert run_config.data_streams(config.data) == ([str(mix / "scenes"), train], [3.0, 1.0])
    assert run_config.data_streams(["a", "b"]) == (["a", "b"], None)
    with pytest.raises(ValueError, match="takes path"):
        run_config.from_dict({"data": [{"weight": 2}]}).resolved()
    result = training.train(
        tiny_config("hypercolumn", photo_folders, data=config.data, epochs=1), tmp_path / "run"
    )
    assert len(result.history["loss"]) == 1


def test_broken_backups_and_settings_get_errors_that_name_the_file(
    tmp_path, photo_folders, finished_run
):
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        run_config.with_overrides(
            tiny_config("hypercolumn", photo_folders), ["epochs=1.5"]
        ).resolved()
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run.model_path.parent, run_dir)
    backup = run_dir / "backup" / "worker_0"
    metadata = backup / "training_metadata.json"
    metadata.write_text("{not json")
    config = tiny_config("hypercolumn", photo_folders, epochs=3)
    with pytest.raises(ValueError, match=f"{metadata}: the run's backup cannot be read.*delete"):
        training.train(config, run_dir, verbose=0)
    metadata.write_text('{"epoch": 2}')
    (backup / "latest.weights.h5").write_bytes(b"not HDF5")
    with pytest.raises(ValueError, match="latest.weights.h5: the run's backup cannot be read"):
        training.train(config, run_dir, verbose=0)


def test_a_file_that_is_not_a_model_is_named(tmp_path):
    from kcolor import inference

    fake = tmp_path / "model.keras"
    fake.write_text("junk")
    with pytest.raises(ValueError, match="model.keras: not a Keras model file"):
        inference.load_model(fake)
