"""kcolor.video.colorize and ``kcolor colorize`` on videos: the photo path per frame,
colour that stays put, the rules every output follows."""

import numpy as np
import pytest
from helpers.videos import audio_packets, frame_times, pan, textured_photo, write_video

from kcolor import cli, color, inference, outputs
from kcolor.video import TemporalSettings, colorize_video, colorized_frames, io
from kcolor.video.temporal import warping_error

SIZE = 64


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 16-frame pan over a textured photo, 96x128, with a tone."""
    path = tmp_path_factory.mktemp("videos") / "clip.mp4"
    write_video(path, pan(textured_photo(96, 200, seed=3), 16, 96, 128, step=3), audio_seconds=0.7)
    return path


def flicker(path):
    """Warping error of a video's colour, in Lab units."""
    abs_, grays = [], []
    for frame in io.read_frames(path):
        lab = np.asarray(color.rgb_to_lab(frame.rgb.astype(np.float32) / 255))
        abs_.append(lab[..., 1:] / 110)
        grays.append(np.clip(lab[..., 0] * 2.55, 0, 255).astype(np.uint8))
    return warping_error(abs_, grays)


def test_a_video_comes_out_whole_and_steadier_than_frame_by_frame(clip, tmp_path):
    steady = colorize_video(
        clip, tmp_path / "steady.mp4", "default", size=SIZE, precision="float32"
    )
    alone = colorize_video(
        clip, tmp_path / "alone.mp4", "default", size=SIZE, precision="float32",
        temporal=TemporalSettings(enabled=False),
    )  # fmt: skip
    assert steady.frames == alone.frames == 16 and steady.predicted == 16 and steady.cuts == 0
    for path in (tmp_path / "steady.mp4", tmp_path / "alone.mp4"):
        assert frame_times(path) == frame_times(clip)
        assert audio_packets(path) == audio_packets(clip)
        info = io.probe(path)
        assert (info.width, info.height, info.frames) == (128, 96, 16)
    assert flicker(tmp_path / "steady.mp4") < 0.8 * flicker(tmp_path / "alone.mp4")
    first = next(io.read_frames(tmp_path / "steady.mp4")).rgb.astype(int)
    assert np.ptp(first, axis=-1).mean() > 2  # coloured


def test_keyframes_run_the_network_on_every_kth_frame(clip, tmp_path):
    result = colorize_video(
        clip,
        tmp_path / "k.mp4",
        "default",
        size=SIZE,
        temporal=TemporalSettings(keyframe_interval=4),
    )
    assert result.frames == 16 and result.predicted == 4


def test_the_gan_keeps_one_seed_for_the_whole_video(clip, tmp_path, tiny_model_files):
    gan = tiny_model_files["gan"]
    runs = [
        colorize_video(clip, tmp_path / f"{name}.mp4", gan, size=SIZE, seed=seed)
        for name, seed in (("a", 5), ("b", 5), ("c", 6))
    ]
    assert [run.seed for run in runs] == [5, 5, 6]
    frames = {name: [f.rgb for f in io.read_frames(tmp_path / f"{name}.mp4")] for name in "abc"}
    assert all(np.array_equal(x, y) for x, y in zip(frames["a"], frames["b"], strict=True))
    assert any(not np.array_equal(x, y) for x, y in zip(frames["a"], frames["c"], strict=True))


def test_frames_stream_from_a_generator(clip):
    frames = colorized_frames(clip, "default", size=SIZE, temporal=TemporalSettings(enabled=False))
    first = next(frames)
    assert first[1].shape == first[0].rgb.shape == (96, 128, 3) and first[0].pts == 0
    assert sum(1 for _ in frames) == 15


def test_no_overwrite_and_no_partial_file(clip, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(outputs.OutputExists, match="out.mp4 exists"):
        colorize_video(clip, out, "default", size=SIZE)
    assert out.read_bytes() == b"precious"

    class Interrupting(inference.BaseColorizer):
        """A colorizer interrupted (Ctrl-C) at the fifth frame."""

        def __init__(self, inner):
            self.inner, self.calls = inner, 0
            self.size, self.multiple, self.precision = inner.size, inner.multiple, "float32"
            self.diverse, self.noise_channels = inner.diverse, inner.noise_channels

        def model_input(self, rgb):
            return self.inner.model_input(rgb)

        def _predict_ab(self, l_norm, samples, seed):
            self.calls += 1
            if self.calls == 5:
                raise KeyboardInterrupt
            return self.inner.predict_ab(l_norm, samples, seed)

    from kcolor import api

    with pytest.raises(KeyboardInterrupt):
        colorize_video(clip, out, Interrupting(api.make_colorizer("default", SIZE)), force=True)
    assert out.read_bytes() == b"precious"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.mp4"]
    colorize_video(clip, out, "default", size=SIZE, force=True)
    assert io.probe(out).frames == 16


def test_the_command_colorizes_videos_beside_photos(clip, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "clip.mov").write_bytes(clip.read_bytes())  # an MP4 named .mov: FFmpeg reads it
    (folder / "broken.mkv").write_bytes(b"junk" * 100)
    from PIL import Image

    Image.fromarray(textured_photo(40, 50)).save(folder / "photo.png")
    status = cli.main([
        "colorize", str(folder), "-o", str(tmp_path / "out"), "--size", str(SIZE),
        "--keyframe-interval", "2", "--quiet",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert status == 1
    assert "failed" in captured.err and "broken.mkv: not a video FFmpeg can read" in captured.err
    assert "wrote 2 file(s)" in captured.out and "1 failed" in captured.out
    assert io.probe(tmp_path / "out" / "clip.mov").frames == 16
    assert (tmp_path / "out" / "photo.png").is_file()
    status = cli.main([
        "colorize", str(folder / "clip.mov"), "-o", str(tmp_path / "out2"), "--model",
        "gan", "--samples", "2", "--quiet",
    ])  # fmt: skip
    assert status == 1
    assert "a video gets one colouring" in capsys.readouterr().err


def test_evaluate_scores_a_video_beside_frame_by_frame_and_the_original(clip, tmp_path, capsys):
    import json

    report_path = tmp_path / "report.json"
    status = cli.main([
        "evaluate", str(clip), "--size", str(SIZE), "--json", str(report_path), "--quiet",
    ])  # fmt: skip
    assert status == 0
    (report,) = json.loads(report_path.read_text())
    assert report["frames"] == 16 and report["predicted"] == 16
    assert report["flicker"]["temporal"] < report["flicker"]["frame_by_frame"]
    # Random texture has no colour to guess: the scores exist, no order is implied.
    assert set(report["psnr"]) == {"temporal", "frame_by_frame", "no_colour"}
    assert all(np.isfinite(value) for value in report["psnr"].values())
    assert report["colorfulness"]["original"] > report["colorfulness"]["no_colour"]
    assert "flicker (Lab)" in capsys.readouterr().out
    assert cli.main(["evaluate", str(clip), str(tmp_path / "photo.png")]) == 1
    assert "separate runs" in capsys.readouterr().err
    # The pixel limit of kcolor colorize holds for videos scored too.
    assert cli.main(["evaluate", str(clip), "--max-pixels", "100", "--quiet"]) == 1
    assert "over the limit of 100 pixels" in capsys.readouterr().err


def test_a_tracked_patch_keeps_its_colour(tmp_path):
    """On a pan with known motion, the colour of a patch followed across the frames
    varies by less than 2 Lab units (frame by frame, for comparison, by more)."""
    step, frames = 3, 16
    source = tmp_path / "pan.mp4"
    write_video(source, pan(textured_photo(120, 220, seed=5), frames, 120, 160, step=step))
    spread = {}
    for name, settings in (
        ("steady", TemporalSettings()),
        ("alone", TemporalSettings(enabled=False)),
    ):
        out = tmp_path / f"{name}.mp4"
        colorize_video(source, out, "default", size=96, temporal=settings)
        patches = []
        for k, frame in enumerate(io.read_frames(out)):
            left = 100 - step * k  # the content moves left by `step` each frame
            patch = frame.rgb[50:66, left : left + 16].astype(np.float32) / 255
            patches.append(np.asarray(color.rgb_to_lab(patch))[..., 1:].mean(axis=(0, 1)))
        patches = np.array(patches)
        spread[name] = float(np.linalg.norm(patches - patches.mean(axis=0), axis=1).max())
    assert spread["steady"] < 2.0
    assert spread["steady"] < spread["alone"]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.mp4", b"", "not a video FFmpeg can read"),
        ("notes.mp4", b"a text file named like a video\n" * 20, "not a video FFmpeg can read"),
    ],
)
def test_hostile_videos_fail_alone_with_a_reason(clip, tmp_path, capsys, name, content, reason):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(content)
    (folder / "good.mp4").write_bytes(clip.read_bytes())
    status = cli.main(
        ["colorize", str(folder), "-o", str(tmp_path / "out"), "--size", "32", "--quiet"]
    )
    err = capsys.readouterr().err
    assert status == 1 and f"{name}: {reason}" in err
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["good.mp4"]


def test_a_file_without_video_and_a_video_over_the_pixel_limit_are_refused(clip, tmp_path):
    import av

    sound = tmp_path / "sound.mp4"
    with av.open(str(sound), "w") as output:
        stream = output.add_stream("aac", rate=16000)
        stream.layout = "mono"
        chunk = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        chunk.sample_rate, chunk.pts = 16000, 0
        output.mux(stream.encode(chunk))
        output.mux(stream.encode(None))
    with pytest.raises(io.VideoReadError, match="sound.mp4: holds no video stream"):
        colorize_video(sound, tmp_path / "out.mp4", "default")
    with pytest.raises(inference.ImageTooLarge, match="128x96 pixels is over the limit of 10,000"):
        colorize_video(clip, tmp_path / "big.mp4", "default", max_pixels=10_000)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sound.mp4"]


@pytest.mark.parametrize("fails", [False, True])
def test_a_consumer_that_stops_early_never_waits_on_the_reader(fails):
    import threading
    import time

    from kcolor.video.colorize import prefetched

    def frames():
        yield from range(6)
        if fails:
            raise OSError("truncated")

    def consume():
        reader = prefetched(frames(), 2)
        for index, _ in enumerate(reader):
            if index == 3:
                # The reader fills its queue meanwhile and has its end (or error) to hand on.
                time.sleep(0.5)
                break
        reader.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(10)
    assert not consumer.is_alive()
