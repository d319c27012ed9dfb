"""``kcolor app``: the page served in-process on a free port and driven through its HTTP API
(gradio_client), as a browser's page would be; one test in a real headless Chromium."""

import asyncio
import gc
import os
import shutil
import threading
import time
import urllib.request

import numpy as np
import pytest
from conftest import colour_photo
from PIL import Image

from kcolor import cli
from kcolor.app import running_app
from kcolor.models import presets

gradio_client = pytest.importorskip("gradio_client", reason="the app's tests need kcolor[app]")

# Gradio's server leaves sockets and event loops to the garbage collector (its own
# threads, not kcolor's); their ResourceWarnings are not this package's to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

DEFAULT = presets.read_manifest()["default"]  # the bundled default model's name

# Small photos and a small processing size keep each drop to a fraction of a second.
SIZE = 64
MAX_PIXELS = 200_000


def write_photo(path, height=48, width=64, seed=0, gray=True):
    image = Image.fromarray(colour_photo(height, width, seed))
    (image.convert("L") if gray else image).save(path)
    return str(path)


@pytest.fixture(autouse=True)
def collect_garbage_here():
    """Collect what Gradio left to the garbage collector while this module's warning
    filters apply (later, in another test or at the end of the session, they would not)."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def app(tiny_model_files):
    """The page, with the tiny GAN offered beside the bundled models, uploads up to 1 MB."""
    with running_app(
        port=None,
        extra_models=[tiny_model_files["gan"]],
        max_upload_mb=1,
        max_pixels=MAX_PIXELS,
    ) as running:
        yield running
    gc.collect()


@pytest.fixture
def client(app, tmp_path):
    client = gradio_client.Client(app.address, verbose=False, download_files=str(tmp_path / "got"))
    yield client
    client.close()


def colorize(client, paths, model=DEFAULT, samples=1, seed="", precision="float32"):
    files = [gradio_client.handle_file(str(path)) for path in paths]
    return client.predict(files, model, samples, seed, precision, SIZE, api_name="/colorize")


def pixels(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_a_photo_comes_out_as_kcolor_colorize_writes_it(client, tmp_path):
    photo = write_photo(tmp_path / "old photo.png", 50, 70)
    before_after, gallery, downloads, report = colorize(client, [photo])
    assert report.startswith(f"Colorized 1 of 1 file(s) with {DEFAULT}")
    full = next(path for path in downloads if path.endswith(".png"))
    assert os.path.basename(full) == "old photo.png"
    status = cli.main([
        "colorize", photo, "-o", str(tmp_path / "cli"), "--model", DEFAULT,
        "--size", str(SIZE), "--precision", "float32", "--quiet",
    ])  # fmt: skip
    assert status == 0
    expected = pixels(tmp_path / "cli" / "old photo.png")
    assert pixels(full).shape == expected.shape == (50, 70, 3)
    assert np.abs(pixels(full) - expected).max() <= 1
    assert pixels(full).std(axis=2).mean() > 1  # coloured, not gray
    # The slider's "before" is the gray photo, its "after" the colouring (previews).
    before, after = before_after
    assert np.ptp(pixels(before), axis=2).max() <= 2 and pixels(after).shape == (50, 70, 3)
    assert [item["caption"] for item in gallery] == ["old photo.png"]


def test_gan_draws_equal_the_seeded_command_line_runs(client, tiny_model_files, tmp_path):
    photo = write_photo(tmp_path / "p.png")
    _, gallery, downloads, report = colorize(
        client, [photo], model=tiny_model_files["gan"], samples=3, seed="7"
    )
    assert "seed 7" in report and len(gallery) == 3
    cli.main([
        "colorize", photo, "-o", str(tmp_path / "cli"), "--model", tiny_model_files["gan"],
        "--samples", "3", "--seed", "7", "--size", str(SIZE), "--quiet",
    ])  # fmt: skip
    for k in (1, 2, 3):
        got = next(path for path in downloads if path.endswith(f"p_sample{k}.png"))
        assert np.abs(pixels(got) - pixels(tmp_path / "cli" / f"p_sample{k}.png")).max() <= 1
    assert np.abs(pixels(downloads[0]) - pixels(downloads[1])).max() > 0  # draws differ


def test_bad_files_are_reported_and_the_others_finish(client, tmp_path):
    good = [write_photo(tmp_path / f"good{k}.png", seed=k) for k in range(2)]
    (tmp_path / "notes.jpg").write_bytes(b"this is not a photo")
    (tmp_path / "cut.png").write_bytes((tmp_path / "good0.png").read_bytes()[:60])
    huge = tmp_path / "huge.png"
    Image.new("L", (600, 400)).save(huge)  # 240,000 pixels: over the limit
    drop = [good[0], tmp_path / "notes.jpg", tmp_path / "cut.png", huge, good[1]]
    _, gallery, downloads, report = colorize(client, drop)
    assert report.splitlines()[0].startswith("Colorized 2 of 5 file(s)")
    assert "**notes.jpg**: not a JPEG, PNG" in report
    assert "**cut.png**:" in report
    assert "**huge.png**: 600x400 pixels is over the limit of 200,000" in report
    assert "/tmp" not in report  # files are named as uploaded, not by server paths
    assert sorted(item["caption"] for item in gallery) == ["good0.png", "good1.png"]
    assert sorted(os.path.basename(path) for path in downloads) == [
        "good0.png", "good1.png", "kcolor-colorized.zip",
    ]  # fmt: skip
    # The page still serves the next drop.
    assert colorize(client, [good[0]])[3].startswith("Colorized 1 of 1")


def test_a_video_dropped_beside_a_photo_comes_back_as_a_video(client, tmp_path):
    from helpers.videos import pan, textured_photo, write_video

    from kcolor.video import io

    clip = tmp_path / "reel.mp4"
    write_video(clip, pan(textured_photo(48, 100), 6, 48, 64), audio_seconds=0.3)
    photo = write_photo(tmp_path / "p.png")
    _, gallery, downloads, report = colorize(client, [clip, photo])
    assert report.startswith("Colorized 2 of 2")
    video = next(path for path in downloads if path.endswith("reel.mp4"))
    assert io.probe(video).frames == 6 and io.probe(video).audio_streams == 1
    assert sorted(item["caption"] for item in gallery) == ["p.png", "reel.mp4"]


def test_settings_a_page_cannot_run_get_a_message(client, tmp_path):
    photo = write_photo(tmp_path / "p.png")
    with pytest.raises(gradio_client.exceptions.AppError, match="samples above 1 needs a GAN"):
        colorize(client, [photo], samples=2)
    with pytest.raises(gradio_client.exceptions.AppError, match="seed must be a whole number"):
        colorize(client, [photo], model="gan", seed="seven")
    with pytest.raises(gradio_client.exceptions.AppError, match="Drop one or more photos"):
        client.predict([], DEFAULT, 1, "", "auto", SIZE, api_name="/colorize")


def test_an_upload_over_the_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(1_500_000))  # over the fixture's 1 MB
    with pytest.raises(Exception, match="(?i)exceeds|too large|maximum"):
        colorize(client, [big])
    photo = write_photo(tmp_path / "p.png")
    assert colorize(client, [photo])[3].startswith("Colorized 1 of 1")


def test_the_page_answers_a_second_browser_while_a_drop_runs(client, app, tmp_path):
    photos = [write_photo(tmp_path / f"p{k:02d}.png", 120, 160, seed=k) for k in range(20)]
    files = [gradio_client.handle_file(path) for path in photos]
    job = client.submit(files, DEFAULT, 1, "", "float32", 256, api_name="/colorize")
    progress = []  # the page's progress bar: photos done of 20
    while not progress and not job.done():
        progress.extend(job.status().progress_data or [])
        time.sleep(0.02)
    with urllib.request.urlopen(app.address, timeout=30) as response:
        assert response.status == 200 and b"kcolor" in response.read()
    assert not job.done()  # answered while the drop was still running
    # A second drop waits for the first, with its place in the queue shown.
    second = client.submit(files[:1], DEFAULT, 1, "", "float32", SIZE, api_name="/colorize")
    waiting = set()  # (place in the queue, what the first drop was doing meanwhile)
    while not second.done():
        status = second.status()
        if status.code.name == "IN_QUEUE" and status.rank is not None:
            waiting.add((status.rank, job.status().code.name))
        progress.extend(job.status().progress_data or [])
        time.sleep(0.05)
    assert (0, "PROGRESS") in waiting  # first in line behind the running drop
    assert second.result()[3].startswith("Colorized 1 of 1")
    while not job.done():
        progress.extend(job.status().progress_data or [])
        time.sleep(0.05)
    _, gallery, _, report = job.result(timeout=300)
    assert report.startswith("Colorized 20 of 20") and len(gallery) == 20
    assert any(unit.length == 20 and unit.unit == "img" for unit in progress), progress


def test_memory_stays_flat_over_many_drops(client, tmp_path):
    photo = write_photo(tmp_path / "p.png")

    def resident_mb():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    for _ in range(5):
        colorize(client, [photo])
    after_5 = resident_mb()
    for _ in range(45):
        colorize(client, [photo])
    assert resident_mb() - after_5 < 100


def test_temporary_files_go_when_the_app_stops(tmp_path):
    photo = write_photo(tmp_path / "p.png")
    with running_app(port=None, max_upload_mb=1) as served:
        client = gradio_client.Client(
            served.address, verbose=False, download_files=str(tmp_path / "got")
        )
        colorize(client, [photo])
        colorize(client, [photo])
        client.close()
        # Only the latest drop's results are kept while the app runs.
        drops = os.listdir(os.path.join(served.folder, "results"))
        assert len(drops) == 1
        assert os.path.isdir(os.path.join(served.folder, "page-cache"))
    assert not os.path.exists(served.folder)


def test_no_event_loop_is_left_open_when_the_app_stops():
    # Gradio sets an event loop for the thread that builds the page; left open, the garbage
    # collector would warn about it (and its sockets) at some later, unrelated moment.
    with running_app(port=None):
        pass
    with pytest.raises(RuntimeError, match="no current event loop"):
        asyncio.get_event_loop()


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    _chromium() is None,
    reason="no Chromium installed (Debian: apt-get install chromium); .ci/run installs it",
)
def test_a_real_browser_drops_a_photo_and_sees_the_result(app, tmp_path):
    from playwright.sync_api import sync_playwright

    photo = write_photo(tmp_path / "family.png", 90, 120, gray=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(app.address)
            page.set_input_files("input[type=file]", [photo])
            page.get_by_role("button", name="Colorize").click()
            page.wait_for_function(
                "document.querySelector('#report')?.innerText.includes('Colorized 1 of 1')",
                timeout=120_000,
            )
            # The report can appear before the browser has fetched the images it shows.
            page.wait_for_function(
                "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0)"
                ".length >= 3",
                timeout=60_000,
            )
            shown = page.locator("img").evaluate_all(
                "images => images.filter(i => i.complete && i.naturalWidth > 0).map(i => i.src)"
            )
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()
    # The slider's two sides and the gallery's colouring, served by the app.
    assert len(shown) >= 3 and all(src.startswith(app.address) for src in shown)
    assert Image.open(tmp_path / "page.png").size[0] == 1280


def test_the_command_serves_until_stopped(tmp_path):
    """``kcolor app`` in its own process: it says where it serves, serves, and stops on
    SIGTERM leaving no temporary folder."""
    import signal
    import socket
    import subprocess
    import sys
    import tempfile

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = set(os.listdir(tempfile.gettempdir()))
    process = subprocess.Popen(
        [sys.executable, "-m", "kcolor.cli", "app", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any("serving" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.2)
    address = next(line for line in lines if "serving" in line).split()[3]
    with urllib.request.urlopen(address, timeout=30) as response:
        assert response.status == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    created = set(os.listdir(tempfile.gettempdir())) - before
    assert not [name for name in created if name.startswith("kcolor-app-")]
