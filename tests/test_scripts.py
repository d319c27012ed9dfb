"""The documentation helpers in scripts/: comparison sheets and training curves."""

import csv
from pathlib import Path

import yaml
from conftest import colour_photo
from helpers.command import run_script as run_script_in_process
from PIL import Image

SCRIPTS = Path(__file__).parent.parent / "scripts"


def run_script(name, *arguments):
    result = run_script_in_process(SCRIPTS / name, *arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_comparison_sheet_has_a_column_per_colouring(tmp_path, tiny_model_files):
    photos = []
    for index in range(2):
        photos.append(tmp_path / f"{index}.png")
        Image.fromarray(colour_photo(30, 60, index)).save(photos[-1])
    sheet = tmp_path / "sheet.jpg"
    run_script(
        "comparison_sheet.py",
        *photos,
        "--models",
        tiny_model_files["hypercolumn"],
        tiny_model_files["gan"],
        "--samples",
        1,
        2,
        "--size",
        32,
        "--height",
        50,
        "-o",
        sheet,
    )
    with Image.open(sheet) as image:
        assert image.format == "JPEG"
        # gray | hypercolumn | 2 GAN samples | original, each 100x50.
        assert image.size == (5 * 100, 2 * 50)


def test_training_curves_plot(tmp_path):
    runs = []
    for name, psnr in (("a", [22.0, 23.0]), ("b", [21.0, 24.0])):
        run = tmp_path / name
        run.mkdir()
        (run / "config.yaml").write_text(yaml.safe_dump({"steps_per_epoch": 10, "batch_size": 4}))
        with open(run / "history.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "loss", "val_psnr"])
            writer.writerows([[0, 3.0, psnr[0]], [1, 2.5, psnr[1]]])
        runs.append(run)
    output = tmp_path / "curves.png"
    run_script("plot_training.py", *runs, "-o", output, "--labels", "A", "B")
    with Image.open(output) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1] > 100


def test_tune_decoding_scores_each_setting(tmp_path, tiny_model_files):
    import json

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(2):
        Image.fromarray(colour_photo(32, 32, index)).save(photos / f"{index}.png")
    result = run_script(
        "tune_decoding.py",
        tiny_model_files["hypercolumn"],
        photos,
        *("--boosts", "1.0", "2.0", "--size", "32"),
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["boost"] for row in rows] == [1.0, 2.0]
    # More boost, more chroma: never less colourful.
    assert rows[1]["colorfulness"] >= rows[0]["colorfulness"]


def test_int8_float_op_comparison_reports_every_float_set(tmp_path, tiny_model_files):
    import json

    for index in range(3):
        Image.fromarray(colour_photo(40, 48, index)).save(tmp_path / f"{index}.png")
    report = tmp_path / "float_ops.json"
    run_script(
        "compare_int8_float_ops.py",
        tmp_path,
        "--model",
        tiny_model_files["hypercolumn"],
        "--calibration",
        2,
        "--compare",
        1,
        "--input-size",
        32,
        "--json",
        report,
    )
    rows = json.loads(report.read_text())
    names = [row["float_set"] for row in rows]
    assert names[:2] == ["decoding", "decoding+assembly"] and len(names) == 6
    assert all(row["photos"] == 1 and row["latency_ms"] > 0 for row in rows)
    assert set(rows[1]["float_ops"]) > set(rows[0]["float_ops"])


def _commit_folder(folder):
    """Make ``folder`` a git repository with its files in one commit; return the commit."""
    import subprocess

    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "files"], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_trunk_weights_are_fetched_checked_and_never_overwritten(tmp_path):
    import hashlib

    import keras
    from helpers.weights_files import write_keras2_weights

    repository = tmp_path / "repository"
    (repository / "weights").mkdir(parents=True)
    network = keras.applications.MobileNet(
        alpha=0.25, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    write_keras2_weights(network, repository / "weights" / "mobilenet.h5")
    commit = _commit_folder(repository)
    content = (repository / "weights" / "mobilenet.h5").read_bytes()
    entry = {
        "trunk": "mobilenet", "trunk_alpha": 0.25, "repository": "someone/weights",
        "commit": commit, "path": "weights/mobilenet.h5", "bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }  # fmt: skip
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"tiny": entry, "altered": {**entry, "sha256": "0" * 64}}))
    common = ("--sources", sources, "--git-dir", repository / ".git")

    output = tmp_path / "out" / "tiny.h5"
    run_script("trunk_weights.py", "tiny", "-o", output, *common)
    assert output.read_bytes() == content
    refused = run_script_in_process(SCRIPTS / "trunk_weights.py", "tiny", "-o", output, *common)
    assert refused.returncode == 1 and "exists" in refused.stderr
    altered = tmp_path / "altered.h5"
    result = run_script_in_process(SCRIPTS / "trunk_weights.py", "altered", "-o", altered, *common)
    assert result.returncode == 1 and "expected" in result.stderr and not altered.exists()
    assert not list(tmp_path.glob("**/*.partial"))


def test_trunk_weights_dequantizes_a_tflite_classifier(tmp_path):
    """A TFLite entry: dequantized into Keras weights that load into the trunk, checked
    against the TFLite model's classes; without --photos it is refused."""
    import hashlib

    import keras
    import numpy as np
    from helpers.weights_files import write_int8_tflite

    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    features = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=None, input_shape=(None, None, 3)
    )(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True)(features)
    logits = keras.layers.Conv2D(5, 1)(pooled)
    classifier = keras.Model(inputs, keras.layers.Flatten()(logits))
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(6):
        Image.fromarray(colour_photo(80, 70, index)).save(folder / f"{index}.png")
    calibration = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 3)).astype(np.float32)
    (tmp_path / "repository").mkdir()
    write_int8_tflite(classifier, tmp_path / "repository" / "classifier.tflite", calibration)
    commit = _commit_folder(tmp_path / "repository")
    content = (tmp_path / "repository" / "classifier.tflite").read_bytes()
    entry = {
        "trunk": "mobilenet_v2", "trunk_alpha": 0.35, "format": "tflite_int8",
        "repository": "someone/models", "commit": commit, "path": "classifier.tflite",
        "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(),
        "input_size": 64, "photos": 6, "min_top1_agreement": 0.8,
    }  # fmt: skip
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"small": entry}))
    common = ("--sources", sources, "--git-dir", tmp_path / "repository" / ".git")

    output = tmp_path / "small.weights.h5"
    refused = run_script_in_process(SCRIPTS / "trunk_weights.py", "small", "-o", output, *common)
    assert refused.returncode == 2 and "--photos" in refused.stderr and not output.exists()
    result = run_script("trunk_weights.py", "small", "-o", output, *common, "--photos", folder)
    assert "top-1 agreement with the TFLite model on 6 photos" in result.stdout
    trunk = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    trunk.load_weights(output)
    original = classifier.layers[1].get_layer("block_16_project").get_weights()[0]
    loaded = trunk.get_layer("block_16_project").get_weights()[0]
    assert np.corrcoef(original.ravel(), loaded.ravel())[0, 1] > 0.99


def test_video_strip_has_a_row_per_frame(tmp_path, tiny_model_files):
    from helpers.videos import pan, write_video

    clip = tmp_path / "clip.mp4"
    write_video(clip, pan(colour_photo(48, 120, 3), 6, 48, 64, step=3))
    strip = tmp_path / "strip.png"
    arguments = ("--frames", 0, 2, 4, "--model", tiny_model_files["hypercolumn"], "--height", 48)
    run_script("video_strip.py", clip, "-o", strip, *arguments)
    with Image.open(strip) as image:
        assert image.size == (4 * 64, 18 + 3 * 48)
    again = run_script_in_process(SCRIPTS / "video_strip.py", clip, "-o", strip, *arguments)
    assert again.returncode == 1 and "exists" in again.stderr


def test_video_seed_flicker_compares_one_seed_with_a_seed_per_frame(tmp_path, tiny_model_files):
    from helpers.videos import pan, write_video

    clip = tmp_path / "clip.mp4"
    write_video(clip, pan(colour_photo(48, 120, 3), 6, 48, 64, step=3))
    result = run_script(
        "video_seed_flicker.py", clip, "--model", tiny_model_files["gan"], "--size", 32,
        "--frames", 5,
    )  # fmt: skip
    values = dict(line.rsplit(None, 1) for line in result.stdout.strip().splitlines())
    assert set(values) == {"one seed", "seed per frame", "one seed, fused", "seed per frame, fused"}
    assert float(values["one seed"]) < float(values["seed per frame"])
    refused = run_script_in_process(
        SCRIPTS / "video_seed_flicker.py", clip, "--model", tiny_model_files["hypercolumn"]
    )
    assert refused.returncode == 1 and "one colouring" in refused.stderr


def test_app_memory_reports_memory_after_five_drops_and_after_all(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(colour_photo(40, 60, 1)).save(photo)
    import subprocess
    import sys

    # A process of its own: the page's server threads outlive a script run in this one.
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "app_memory.py"), str(photo), "--drops", "6"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "after 5 drops" in result.stdout and "after 6" in result.stdout
