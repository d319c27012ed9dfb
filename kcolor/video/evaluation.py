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
from kcolor.video import io
from kcolor.video.colorize import TemporalSettings, gray_uint8, prefetched
from kcolor.video.temporal import ColourMemory, WarpingError

_KINDS = ("temporal", "frame_by_frame", "no_colour")


def _ab_at(rgb: np.ndarray, shape) -> np.ndarray:
    """The original frame's ``ab_norm`` (h, w, 2) at the processing shape."""
    resized = tf.image.resize(tf.convert_to_tensor(rgb, tf.float32) / 255.0, shape, antialias=True)
    return np.asarray(color.rgb_to_lab(resized))[..., 1:] / 110.0


def evaluate_video(path, colorizer, temporal=None, seed=0, max_frames=None, progress=False):
    """Score one colour video; returns a JSON-ready dict.

    Args:
        colorizer: as :func:`kcolor.make_colorizer` gives.
        temporal: the fusion settings scored (keyframes included; None: the defaults);
            frame-by-frame colouring is scored beside it.
        seed: the GAN's seed for the whole video.
        max_frames: score only the first frames.

    Returns:
        ``{"video", "frames", "psnr": {kind: mean}, "colorfulness": {kind: mean,
        "original": mean}, "flicker": {"temporal", "frame_by_frame", "original"},
        "predicted": network calls of the temporal path}`` with kinds "temporal",
        "frame_by_frame" and "no_colour".
    """
    path = os.fspath(path)
    temporal = temporal or TemporalSettings()
    info = io.probe(path)
    memory = ColourMemory(temporal.strength) if temporal.enabled else None
    seed = seed if colorizer.diverse else None
    sums = {kind: {"psnr": 0.0, "colorfulness": 0.0} for kind in _KINDS}
    original_colorfulness = 0.0
    flicker = {kind: WarpingError() for kind in ("temporal", "frame_by_frame", "original")}
    frames = predicted = 0
    total = min(info.frames or 0, max_frames or info.frames or 0) or None
    for frame in tqdm(
        prefetched(io.read_frames(path), 4), total=total, unit="frame", disable=not progress
    ):
        if max_frames is not None and frames >= max_frames:
            break
        l_norm = colorizer.model_input(frame.rgb)
        gray = gray_uint8(l_norm)
        prediction = np.asarray(colorizer.predict_ab(l_norm, 1, seed), np.float32)[0, 0]

        def predict(prediction=prediction):
            nonlocal predicted
            predicted += 1
            return prediction

        keyframe = frames % temporal.keyframe_interval == 0
        steady = memory.colour(gray, predict, keyframe) if memory is not None else predict()
        colourings = {
            "temporal": steady,
            "frame_by_frame": prediction,
            "no_colour": np.zeros_like(prediction),
        }
        for kind, ab in colourings.items():
            rgb = inference.compose(frame.rgb, ab)
            sums[kind]["psnr"] += float(metrics.psnr(rgb, frame.rgb))
            sums[kind]["colorfulness"] += float(metrics.colorfulness(rgb))
        original_colorfulness += float(metrics.colorfulness(frame.rgb))
        flicker["temporal"].add(steady, gray)
        flicker["frame_by_frame"].add(prediction, gray)
        flicker["original"].add(_ab_at(frame.rgb, gray.shape), gray)
        frames += 1
    if not frames:
        raise io.VideoReadError(f"{path}: no frame to score")
    return {
        "video": path,
        "frames": frames,
        "predicted": predicted,
        "temporal": {
            "enabled": temporal.enabled,
            "strength": temporal.strength,
            "keyframe_interval": temporal.keyframe_interval,
        },
        "psnr": {kind: sums[kind]["psnr"] / frames for kind in _KINDS},
        "colorfulness": {
            **{kind: sums[kind]["colorfulness"] / frames for kind in _KINDS},
            "original": original_colorfulness / frames,
        },
        "flicker": {kind: measure.value for kind, measure in flicker.items()},
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
