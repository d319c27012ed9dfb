"""``kcolor evaluate`` on colour videos: the gray frames through the video colorize path,
scored against the original frames, with flicker measured beside frame-by-frame colouring
and beside the original video's own.

Per frame: PSNR and colorfulness of the colouring (at the frame's full size) against the
original, and of no colour (a = b = 0). Flicker is the warping error (Lai et al. 2018,
:func:`kcolor.video.temporal.warping_error`), in Lab units, at the processing size, for
the colouring with temporal fusion, for the same network's frame-by-frame colouring
(computed in the same pass: one network call per frame serves both) and for the original
video, whose own colour also changes a little along the flow (lighting, compression).
"""

import os

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from kcolor import color, inference, metrics
from kcolor.limits import DEFAULT_MAX_PIXELS
from kcolor.video import io
from kcolor.video.colorize import (
    FRAMES_IN_FLIGHT,
    FrameColorer,
    TemporalSettings,
    gray_uint8,
    prefetched,
)
from kcolor.video.temporal import WarpingError

_KINDS = ("temporal", "frame_by_frame", "no_colour")


def _ab_at(rgb: np.ndarray, shape) -> np.ndarray:
    """The original frame's ``ab_norm`` (h, w, 2) at the processing shape."""
    resized = tf.image.resize(tf.convert_to_tensor(rgb, tf.float32) / 255.0, shape, antialias=True)
    return np.asarray(color.rgb_to_lab(resized))[..., 1:] / 110.0


class _VideoScores:
    """Sums of the per-frame scores of each colouring, and the flicker measures."""

    def __init__(self):
        self.sums = {kind: {"psnr": 0.0, "colorfulness": 0.0} for kind in _KINDS}
        self.original_colorfulness = 0.0
        self.flicker = {kind: WarpingError() for kind in ("temporal", "frame_by_frame", "original")}
        self.frames = 0

    def add(self, rgb: np.ndarray, gray: np.ndarray, colorings: dict) -> None:
        """Score one frame: ``rgb`` the original (H, W, 3) uint8, ``gray`` its gray at the
        processing size, ``colourings`` ``{kind: ab_norm (h, w, 2)}``."""
        for kind, ab in colorings.items():
            colored = inference.compose(rgb, ab)
            self.sums[kind]["psnr"] += float(metrics.psnr(colored, rgb))
            self.sums[kind]["colorfulness"] += float(metrics.colorfulness(colored))
        self.original_colorfulness += float(metrics.colorfulness(rgb))
        self.flicker["temporal"].add(colorings["temporal"], gray)
        self.flicker["frame_by_frame"].add(colorings["frame_by_frame"], gray)
        self.flicker["original"].add(_ab_at(rgb, gray.shape), gray)
        self.frames += 1

    def means(self) -> dict:
        frames = self.frames
        return {
            "psnr": {kind: self.sums[kind]["psnr"] / frames for kind in _KINDS},
            "colorfulness": {
                **{kind: self.sums[kind]["colorfulness"] / frames for kind in _KINDS},
                "original": self.original_colorfulness / frames,
            },
            "flicker": {kind: measure.value for kind, measure in self.flicker.items()},
        }


def evaluate_video(
    path,
    colorizer,
    temporal=None,
    seed=0,
    max_frames=None,
    progress=False,
    max_pixels=DEFAULT_MAX_PIXELS,
):
    """Score one colour video; returns a JSON-ready dict.

    Args:
        colorizer: as :func:`kcolor.make_colorizer` gives.
        temporal: the fusion settings scored (keyframes included; None: the defaults);
            frame-by-frame colouring is scored beside it.
        seed: the GAN's seed for the whole video.
        max_frames: score only the first frames.
        max_pixels: refuse a video whose frames have more pixels (None: no limit).

    Returns:
        ``{"video", "frames", "psnr": {kind: mean}, "colorfulness": {kind: mean,
        "original": mean}, "flicker": {"temporal", "frame_by_frame", "original"},
        "predicted": network calls of the temporal path}`` with kinds "temporal",
        "frame_by_frame" and "no_colour".
    """
    path = os.fspath(path)
    temporal = temporal or TemporalSettings()
    info = io.probe(path)
    inference.check_pixels(path, info.width, info.height, max_pixels)
    colorer = FrameColorer(colorizer, temporal, seed)
    scores = _VideoScores()
    total = min(info.frames or 0, max_frames or info.frames or 0) or None
    frames = prefetched(io.read_frames(path), FRAMES_IN_FLIGHT)
    for frame in tqdm(frames, total=total, unit="frame", disable=not progress):
        if max_frames is not None and scores.frames >= max_frames:
            break
        l_norm = colorizer.model_input(frame.rgb)
        # One network call serves both: the fused colouring and frame-by-frame colouring.
        prediction = colorer.predict(l_norm)
        steady = colorer.carry(l_norm, lambda prediction=prediction: prediction)
        colorings = {"temporal": steady, "frame_by_frame": prediction}
        scores.add(
            frame.rgb, gray_uint8(l_norm), {**colorings, "no_colour": np.zeros_like(prediction)}
        )
    if not scores.frames:
        raise io.VideoReadError(f"{path}: no frame to score")
    settings = {
        "enabled": temporal.enabled,
        "strength": temporal.strength,
        "keyframe_interval": temporal.keyframe_interval,
    }
    return {
        "video": path,
        "frames": scores.frames,
        "predicted": colorer.predicted,
        "temporal": settings,
        **scores.means(),
    }


def format_video_report(report) -> str:
    """A small table of one video's scores."""
    lines = [
        f"{report['video']}: {report['frames']} frame(s), network on {report['predicted']}",
        f"{'metric':<14}{'temporal':>10}{'per frame':>11}{'no colour':>11}{'original':>10}",
    ]
    for key in ("psnr", "colorfulness"):
        values = report[key]
        original = f"{values['original']:>10.3f}" if "original" in values else ""
        lines.append(
            f"{key:<14}{values['temporal']:>10.3f}{values['frame_by_frame']:>11.3f}"
            f"{values['no_colour']:>11.3f}{original}"
        )
    flicker = report["flicker"]
    lines.append(
        f"{'flicker (Lab)':<14}{flicker['temporal']:>10.3f}{flicker['frame_by_frame']:>11.3f}"
        f"{'':>11}{flicker['original']:>10.3f}"
    )
    return "\n".join(lines)
