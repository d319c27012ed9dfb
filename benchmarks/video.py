"""Colorizing videos end to end (decode, network, temporal fusion, compose, encode).

``video``: frames per second of :func:`kcolor.video.colorize_video` on a pan over a photo,
per model, precision and frame size, with temporal fusion and with keyframes every 4th
frame, against frame-by-frame colouring of the same video in the same run (the ratio is
fusion's speed over frame-by-frame's). ``video-memory``: peak RSS of a fresh process that
colorizes a long video against one that colorizes a short one: flat memory means a ratio
near 1.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_MEMORY_SCRIPT = """
import resource, sys
from kcolor.video import colorize_video
colorize_video(sys.argv[1], sys.argv[2], "default", size=256, precision="float32")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _pan_video(path: Path, frames: int, width: int, height: int) -> None:
    """A camera pan over a smooth, textured photo (H.264, no audio)."""
    import av
    from PIL import Image

    rng = np.random.default_rng(0)
    coarse = rng.uniform(0, 255, (height // 16 + 2, (width + 4 * frames) // 16 + 2, 3))
    photo = np.asarray(
        Image.fromarray(coarse.astype(np.uint8)).resize(
            (coarse.shape[1] * 16, coarse.shape[0] * 16), Image.BICUBIC
        )
    )
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            rgb = np.ascontiguousarray(photo[:height, 4 * index : 4 * index + width])
            output.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        output.mux(stream.encode(None))


def _frames_per_second(source, colorizer, temporal, frames) -> float:
    from kcolor.video import colorize_video

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        colorize_video(source, Path(folder) / "out.mp4", colorizer, temporal=temporal)
        return frames / (time.perf_counter() - started)


def bench_video(args) -> list[dict]:
    """One row per model, precision and frame size: fusion and keyframes against frame by
    frame."""
    from kcolor import api
    from kcolor.video import TemporalSettings

    if args.quick:
        sizes, frames, models, precisions = [(96, 64)], 6, ["default"], ["float32"]
    else:
        sizes, frames = [(640, 360), (1280, 720)], 48
        models, precisions = ["default", "gan"], ["float32", "int8"]
    modes = {
        "frame-by-frame": TemporalSettings(enabled=False),
        "temporal": TemporalSettings(),
        "keyframes-4": TemporalSettings(keyframe_interval=4),
    }
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for width, height in sizes:
            source = Path(folder) / f"pan_{width}x{height}.mp4"
            _pan_video(source, frames, width, height)
            for model in models:
                for precision in precisions:
                    colorizer = api.make_colorizer(model, 256, precision)
                    # A first run traces the network and warms the encoder.
                    _frames_per_second(source, colorizer, modes["frame-by-frame"], frames)
                    rates = {
                        name: _frames_per_second(source, colorizer, settings, frames)
                        for name, settings in modes.items()
                    }
                    rows.append(
                        {
                            "name": f"video-{model}-{precision}-{height}p",
                            "work": f"{frames} frames of {width}x{height} H.264, {model} in "
                            f"{precision} at size 256, decoded, colorized, encoded",
                            "kcolor": f"temporal {rates['temporal']:.1f} frames/s; keyframes "
                            f"every 4th {rates['keyframes-4']:.1f} frames/s",
                            "baseline": f"frame by frame {rates['frame-by-frame']:.1f} frames/s",
                            "ratio": rates["temporal"] / rates["frame-by-frame"],
                            **{f"{name}_frames_per_second": rate for name, rate in rates.items()},
                        }
                    )
    return rows


def _peak_rss_mb(source: Path, folder: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(source), f"{folder}/out_{source.stem}.mp4"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.split()[-1]) / 1024


def bench_video_memory(args) -> list[dict]:
    """Peak RSS of colorizing a long video against a short one, each in a fresh process."""
    short, long = (10, 40) if args.quick else (100, 3000)
    width, height = (96, 64) if args.quick else (320, 180)
    with tempfile.TemporaryDirectory() as folder:
        peaks = {}
        for frames in (short, long):
            source = Path(folder) / f"pan_{frames}.mp4"
            _pan_video(source, frames, width, height)
            peaks[frames] = _peak_rss_mb(source, folder)
    return [
        {
            "name": "video-memory",
            "work": f"colorize_video on {width}x{height} H.264 in a fresh process "
            "(the default model, temporal fusion)",
            "kcolor": f"peak RSS {peaks[long]:.0f} MB for {long} frames",
            "baseline": f"peak RSS {peaks[short]:.0f} MB for {short} frames",
            "ratio": peaks[long] / peaks[short],
            "peak_rss_mb_long": peaks[long],
            "peak_rss_mb_short": peaks[short],
            "frames_long": long,
            "frames_short": short,
        }
    ]
