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


def test_trunk_weights_are_fetched_checked_and_never_overwritten(tmp_path):
    import hashlib
    import subprocess

    import keras
    from helpers.weights_files import write_keras2_weights

    repository = tmp_path / "repository"
    (repository / "weights").mkdir(parents=True)
    network = keras.applications.MobileNet(
        alpha=0.25, include_top=False, weights=None, input_shape=(None, None, 3)
    )
    write_keras2_weights(network, repository / "weights" / "mobilenet.h5")
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "weights"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
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
