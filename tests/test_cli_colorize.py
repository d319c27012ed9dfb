"""``kcolor colorize`` and ``kcolor evaluate`` end to end, as a user runs them."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import colour_photo, encode
from helpers.command import run_kcolor as kcolor
from PIL import Image

import kcolor as kcolor_module


def kcolor_process(*arguments):
    """``kcolor ARGUMENTS...`` in a new process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kcolor.cli", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def hostile_folder(tmp_path):
    """Readable photos with awkward names and formats, plus broken files."""
    folder = tmp_path / "in put"
    (folder / "nested ü").mkdir(parents=True)
    sizes = {}

    def add(name, data, size=None):
        (folder / name).write_bytes(data)
        if size:
            sizes[name] = size

    add("space name.jpg", encode(colour_photo(30, 41, 1), "JPEG"), (41, 30))
    add('it\'s "quoted".png', encode(colour_photo(17, 23, 2), "PNG"), (23, 17))
    add("nested ü/ünïcödé 写真.png", encode(colour_photo(25, 19, 3), "PNG"), (19, 25))
    cmyk = io.BytesIO()
    Image.fromarray(colour_photo(22, 28, 4)).convert("CMYK").save(cmyk, "JPEG")
    add("cmyk.jpg", cmyk.getvalue(), (28, 22))
    gray16 = io.BytesIO()
    Image.fromarray((np.arange(20 * 26).reshape(20, 26) * 100).astype(np.uint16)).save(
        gray16, "PNG"
    )
    add("gray16.png", gray16.getvalue(), (26, 20))
    rgba = np.concatenate([colour_photo(16, 16, 5), np.full((16, 16, 1), 99, np.uint8)], -1)
    add("rgba.png", encode(rgba, "PNG"), (16, 16))
    add("one pixel.png", encode(np.full((1, 1, 3), 128, np.uint8), "PNG"), (1, 1))
    add("large.jpg", encode(colour_photo(1500, 2000, 6), "JPEG"), (2000, 1500))
    jpeg = encode(colour_photo(30, 30, 7), "JPEG")
    add("zero bytes.jpg", b"")
    add("truncated.jpg", jpeg[: len(jpeg) // 2])
    add("text.jpg", b"a text file, not a photo\n")
    return folder, sizes


def test_colorize_a_hostile_folder(hostile_folder, tiny_model_files, tmp_path):
    folder, sizes = hostile_folder
    out = tmp_path / "out"
    result = kcolor(
        "colorize",
        folder,
        "-o",
        out,
        "--model",
        tiny_model_files["gan"],
        "--size",
        "32",
        "--batch-size",
        "3",
        "--quiet",
    )
    assert result.returncode == 1, result.stderr
    for name in ("zero bytes.jpg", "truncated.jpg", "text.jpg"):
        assert f"{folder / name}: " in result.stderr
    assert "empty file" in result.stderr and "truncated or corrupt JPEG" in result.stderr
    assert f"wrote {len(sizes)} file(s)" in result.stdout
    for name, size in sizes.items():
        written = out / (os.path.splitext(name)[0] + ".png")
        with Image.open(written) as image:
            assert image.size == size and image.mode == "RGB", name
    leftovers = [name for _, _, files in os.walk(out) for name in files if "partial" in name]
    assert leftovers == []


def test_existing_outputs_need_force(tiny_model_files, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(encode(colour_photo(20, 20, 8), "PNG"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.png").write_bytes(b"keep me")
    model = tiny_model_files["hypercolumn"]
    kept = kcolor("colorize", photo, "-o", out, "--model", model, "--size", "32")
    assert kept.returncode == 0 and "exists (pass --force" in kept.stderr
    assert (out / "photo.png").read_bytes() == b"keep me"
    forced = kcolor(
        "colorize", photo, "-o", out, "--model", model, "--size", "32", "--force", "--format", "jpg"
    )
    assert forced.returncode == 0, forced.stderr
    with Image.open(out / "photo.jpg") as image:
        assert image.size == (20, 20)
    replaced = kcolor("colorize", photo, "-o", out, "--model", model, "--size", "32", "--force")
    assert replaced.returncode == 0
    with Image.open(out / "photo.png") as image:
        assert image.size == (20, 20)


def test_samples_globs_and_errors(tiny_model_files, tmp_path):
    for index in range(2):
        (tmp_path / f"p{index}.jpg").write_bytes(encode(colour_photo(18, 24, index), "JPEG"))
    out = tmp_path / "out"
    result = kcolor(
        "colorize",
        tmp_path / "p*.jpg",
        tmp_path / "absent.png",
        "-o",
        out,
        "--model",
        tiny_model_files["generator"],
        "--samples",
        "3",
        "--seed",
        "1",
        "--size",
        "16",
        "--quiet",
    )
    assert result.returncode == 1
    assert "absent.png" in result.stderr and "does not exist" in result.stderr
    names = sorted(os.listdir(out))
    assert names == [f"p{i}_sample{k}.png" for i in range(2) for k in (1, 2, 3)]

    one_colouring = kcolor(
        "colorize",
        tmp_path / "p0.jpg",
        "-o",
        out,
        "--model",
        tiny_model_files["hypercolumn"],
        "--samples",
        "2",
    )
    assert one_colouring.returncode == 1 and "needs a GAN" in one_colouring.stderr


def test_evaluate_writes_json_and_a_contact_sheet(tiny_model_files, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        (photos / f"{index}.png").write_bytes(encode(colour_photo(24, 32, index), "PNG"))
    report_path, sheet = tmp_path / "report.json", tmp_path / "sheet.png"
    result = kcolor(
        "evaluate",
        photos,
        "--model",
        tiny_model_files["gan"],
        "--size",
        "16",
        "--json",
        report_path,
        "--sheet",
        sheet,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "no colour" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["images"] == 3 and len(report["per_image"]) == 3
    for kind in ("model", "no_colour"):
        assert set(report[kind]) == {"psnr", "ssim", "auc", "colorfulness"}
    assert report["no_colour"]["colorfulness"] < 1.0 < report["photo_colorfulness"]
    with Image.open(sheet) as image:
        assert image.size[1] == 3 * 160 and image.size[0] > 3 * 160


def test_evaluate_reports_gan_diversity(tiny_model_files, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(2):
        (photos / f"{index}.png").write_bytes(encode(colour_photo(24, 32, index), "PNG"))
    report_path, sheet = tmp_path / "report.json", tmp_path / "sheet.png"
    arguments = ["evaluate", photos, "--size", "16", "--quiet", "--samples", "4"]
    result = kcolor(
        *arguments, "--model", tiny_model_files["gan"], "--json", report_path, "--sheet", sheet
    )
    assert result.returncode == 0, result.stderr
    assert "diversity" in result.stdout and "best-of-N psnr" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["model"]["diversity"] > 0
    assert all(image["model"]["diversity"] > 0 for image in report["per_image"])
    # The mean over the four colourings sits below the best one, strictly when they differ.
    assert all(
        image["model"]["best_psnr"] > image["model"]["psnr"] for image in report["per_image"]
    )
    assert report["model"]["best_psnr"] > report["model"]["psnr"]
    with Image.open(sheet) as image:
        # gray | 4 colourings | original
        assert image.size[0] > 6 * 160
    refused = kcolor(*arguments, "--model", tiny_model_files["hypercolumn"])
    assert refused.returncode == 1 and "samples above 1 needs a GAN" in refused.stderr


def test_colorize_uses_the_bundled_models(tmp_path):
    """Right after install: no --model needed; --model gan gives several colourings."""
    import skimage.data

    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage.data.astronaut()).convert("L").save(photo)
    out = tmp_path / "out"
    default = kcolor_process("colorize", photo, "-o", out, "--quiet")
    assert default.returncode == 0, default.stderr
    # Nothing on the terminal but what kcolor says: TensorFlow's start-up lines are hidden.
    assert default.stderr == ""
    gan = kcolor(
        "colorize", photo, "-o", out / "gan", "--model", "gan", "--samples", "2", "--quiet"
    )
    assert gan.returncode == 0, gan.stderr
    results = [out / "astronaut.png", out / "gan" / "astronaut_sample1.png"]
    results.append(out / "gan" / "astronaut_sample2.png")
    images = []
    for path in results:
        with Image.open(path) as image:
            assert image.size == (512, 512)
            images.append(np.asarray(image.convert("RGB"), float))
    for image in images:
        # Colour where the input had none: the channels differ.
        assert np.abs(image[..., 0] - image[..., 2]).mean() > 2
    assert np.abs(images[1] - images[2]).mean() > 0.5


def test_evaluate_scores_a_mean_tint_baseline_and_reads_shards(tiny_model_files, tmp_path):
    from kcolor.data import tfrecords

    photos = tmp_path / "photos"
    photos.mkdir()
    # Photos that are one flat colour each: a tint of exactly that colour is perfect.
    for index in range(4):
        flat = np.full((20, 24, 3), (90, 140, 200), np.uint8)
        (photos / f"{index}.png").write_bytes(encode(flat, "PNG"))
    lab = kcolor_module.color.rgb_to_lab(np.array([[[90, 140, 200]]], np.uint8)).numpy()[0, 0]
    shards = tfrecords.write_tfrecords([str(photos)], tmp_path / "shards", progress=False)
    report_path = tmp_path / "report.json"
    arguments = ["--model", tiny_model_files["gan"], "--size", "16", "--quiet"]
    result = kcolor(
        "evaluate", shards[0], *arguments, "--json", report_path, "--tint", lab[1], lab[2]
    )
    assert result.returncode == 0, result.stderr
    assert "mean tint" in result.stdout and "above the mean tint" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["images"] == 4 and report["tint_ab"] == pytest.approx(lab[1:], abs=1e-4)
    assert report["mean_tint"]["psnr"] > 45 > report["no_colour"]["psnr"]
    assert report["better_than_mean_tint"] == 0.0
    assert 0.0 <= report["better_than_no_colour"] <= 1.0
    assert report["per_image"][0]["file"] == str(photos / "0.png")
    limited = kcolor("evaluate", photos, *arguments, "--limit", "2", "--json", report_path)
    assert limited.returncode == 0, limited.stderr
    # Without --tint, the bundled training mix's average colour.
    assert json.loads(report_path.read_text())["images"] == 2
    assert json.loads(report_path.read_text())["tint_ab"] == list(
        kcolor_module.evaluation.default_tint()
    )


def test_write_failures_are_per_file_and_inputs_in_the_output_folder_work(
    tiny_model_files, tmp_path
):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png", "c.jpg"):
        Image.fromarray(colour_photo(20, 24, len(name))).save(photos / name)
    output = tmp_path / "out"
    output.mkdir()
    (output / "sub").write_text("a file where a folder is needed")
    arguments = ["--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"]
    result = kcolor("colorize", photos, "-o", output, *arguments)
    assert result.returncode == 1
    assert f"failed {photos / 'sub' / 'b.png'}: cannot write" in result.stderr
    assert (output / "a.png").is_file() and (output / "c.png").is_file()
    # A photo named on its own, inside the output folder: colorized beside itself.
    in_place = kcolor("colorize", photos / "c.jpg", "-o", photos, *arguments)
    assert in_place.returncode == 0 and "wrote 1 file(s)" in in_place.stdout
    assert (photos / "c.png").is_file()
    refused = kcolor("colorize", photos / "a.png", "-o", photos, "--force", *arguments)
    assert refused.returncode == 1 and "would replace the input itself" in refused.stderr


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_force_never_replaces_another_input_of_the_run(tiny_model_files, tmp_path, fmt):
    import hashlib

    folder = tmp_path / "rep"
    folder.mkdir()
    Image.fromarray(colour_photo(20, 24, 1)).save(folder / "x.jpg")
    Image.fromarray(colour_photo(20, 24, 2)).save(folder / "x.png")

    def hashes():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    before = hashes()
    arguments = ["--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"]
    result = kcolor("colorize", folder, "-o", folder, "--force", "--format", fmt, *arguments)
    assert result.returncode == 1 and "would replace the input" in result.stderr
    assert hashes() == before


def test_evaluate_leaves_out_grayscale_photos(tiny_model_files, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "colour.png").write_bytes(encode(colour_photo(24, 32, 1), "PNG"))
    gray = np.repeat(colour_photo(24, 32, 2)[..., :1], 3, axis=-1)
    (photos / "gray.png").write_bytes(encode(gray, "PNG"))
    report_path = tmp_path / "report.json"
    arguments = ["--model", tiny_model_files["gan"], "--size", "16", "--quiet"]
    result = kcolor("evaluate", photos, *arguments, "--json", report_path)
    assert result.returncode == 0, result.stderr
    assert "1 grayscale photo(s) left out" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["images"] == 1 and report["grayscale"] == [str(photos / "gray.png")]
    assert np.isfinite(report["no_colour"]["psnr"])


def test_stop_signals_end_a_run_like_ctrl_c_leaving_no_partial_file(tiny_model_files, tmp_path):
    photos, output = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    for index in range(60):
        Image.fromarray(colour_photo(300, 400, index)).save(photos / f"{index:02d}.png")
    inputs = {p.name: p.read_bytes() for p in photos.iterdir()}
    for stop in (signal.SIGTERM, signal.SIGHUP):
        for path in output.glob("*.png"):
            path.unlink()
        process = subprocess.Popen(
            [sys.executable, "-m", "kcolor.cli", "colorize", photos, "-o", output, "--force",
             "--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not list(output.glob("*.png")) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 128 + stop, stderr
        assert f"stopped by {stop.name}" in stderr
        assert not [p.name for p in output.iterdir() if not p.name.endswith(".png")]
        for path in output.glob("*.png"):
            with Image.open(path) as image:
                image.load()  # complete files only
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == inputs


def test_temporary_outputs_of_killed_runs_are_removed(tiny_model_files, tmp_path, capsys):
    photos, output = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    output.mkdir()
    Image.fromarray(colour_photo(20, 24, 1)).save(photos / "a.png")
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead = output / f".kcolor-{finished.stdout.strip()}-abc.partial"
    alive = output / f".kcolor-{os.getpid()}-def.partial"
    unrelated = output / ".kcolor-notapid.partial"
    for path in (dead, alive, unrelated):
        path.write_bytes(b"half a file")
    arguments = ["--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"]
    result = kcolor("colorize", photos, "-o", output, *arguments)
    assert result.returncode == 0
    assert f"removed {dead}: a temporary output of a run that was killed" in result.stderr
    assert not dead.exists() and alive.exists() and unrelated.exists()


# The long form of the stop-signal test above: many runs killed at random moments.
@pytest.mark.large
def test_runs_killed_at_random_moments_lose_nothing_and_leave_nothing(tiny_model_files, tmp_path):
    import hashlib
    import random

    photos, output = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    for index in range(30):
        Image.fromarray(colour_photo(300, 400, index)).save(photos / f"{index:02d}.png")

    def hashes():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()}

    inputs = hashes()
    command = [sys.executable, "-m", "kcolor.cli", "colorize", photos, "-o", output, "--force",
               "--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet"]  # fmt: skip
    chooser = random.Random(0)
    for _ in range(20):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chooser.uniform(2.0, 8.0))
        process.send_signal(chooser.choice([signal.SIGKILL, signal.SIGTERM]))
        process.wait(timeout=120)
        for path in output.glob("*.png"):
            with Image.open(path) as image:
                image.load()  # never a partial output under a final name
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert sorted(p.name for p in output.iterdir()) == sorted(inputs)  # no temporary left
    assert hashes() == inputs


def test_a_truncated_jpeg_is_one_line_without_the_decoders_own(tiny_model_files, tmp_path):
    # libjpeg's "Premature end of JPEG data" comes from TensorFlow's C++ log, naming no
    # file; kcolor's own line names it.
    content = encode(colour_photo(64, 64, 3), "JPEG", quality=90)
    (tmp_path / "cut.jpg").write_bytes(content[: len(content) * 2 // 3])
    result = kcolor_process(
        "colorize", tmp_path / "cut.jpg", "-o", tmp_path / "out",
        "--model", tiny_model_files["hypercolumn"], "--size", "16", "--quiet",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"failed {tmp_path / 'cut.jpg'}: truncated or corrupt JPEG data"
    ]
