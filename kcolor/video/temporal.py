"""Colour that stays put from frame to frame: the previous frame's colour carried along
the motion and fused with the new prediction.

Optical flow between consecutive gray frames (OpenCV's DIS flow: dense, fast on a CPU,
maintained; kcolor does not write its own) tells where each pixel of the new frame was
in the previous one. Flow computed both ways must agree (forward-backward check, as
Sundaram et al. 2010): where it does, the previous frame's colour, warped along the
flow, is trusted and mixed with the new prediction; where it does not (occlusions,
pixels entering the frame, failed flow), the new prediction stands alone. A shot cut,
where almost nothing can be followed, resets the memory.

All arrays here are at the processing size: gray uint8 (h, w) and ``ab_norm`` float32
(h, w, 2) (Lab a and b divided by 110, in [-1, 1]).
"""

import cv2
import numpy as np

from kcolor.errors import ConfigError


def flow(previous_gray: np.ndarray, gray: np.ndarray, estimator) -> np.ndarray:
    """Dense flow (h, w, 2), float32 pixels (dx, dy): where each pixel of ``gray`` is
    in ``previous_gray``."""
    return estimator.calc(gray, previous_gray, None)


def warp(values: np.ndarray, backward_flow: np.ndarray) -> np.ndarray:
    """``values`` (h, w, C) of the previous frame moved to the current one: each pixel
    takes the value where ``backward_flow`` says it was (bilinear; edges repeated)."""
    height, width = backward_flow.shape[:2]
    columns, rows = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    return cv2.remap(
        values,
        columns + backward_flow[..., 0],
        rows + backward_flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).reshape(values.shape)


def flow_confidence(backward_flow: np.ndarray, forward_flow: np.ndarray) -> np.ndarray:
    """Per-pixel trust in ``backward_flow`` (current -> previous), in [0, 1] (h, w).

    Going back along the backward flow and forward again along the forward flow
    (previous -> current) should return to the start: the distance missed, against
    Sundaram et al.'s tolerance ``0.01 (|b|^2 + |f|^2) + 0.5`` pixels squared, gives a
    soft trust (1 at no error, 0.5 at the tolerance). Pixels whose source lies outside
    the previous frame get 0.
    """
    forward_at_source = warp(forward_flow, backward_flow)
    missed = np.sum(np.square(backward_flow + forward_at_source), axis=-1)
    tolerance = (
        0.01 * (np.sum(np.square(backward_flow), -1) + np.sum(np.square(forward_at_source), -1))
        + 0.5
    )
    confidence = 1.0 / (1.0 + missed / tolerance)
    height, width = backward_flow.shape[:2]
    columns, rows = np.meshgrid(np.arange(width), np.arange(height))
    source_x = columns + backward_flow[..., 0]
    source_y = rows + backward_flow[..., 1]
    inside = (source_x >= 0) & (source_x <= width - 1) & (source_y >= 0) & (source_y <= height - 1)
    return np.where(inside, confidence, 0.0).astype(np.float32)


class ColorMemory:
    """Fuses each frame's predicted colour with the previous frame's, carried along the
    flow.

    Args:
        strength: weight of the carried colour where the flow is fully trusted, in
            [0, 1): the fused colour is ``s c warped + (1 - s c) predicted`` with ``c``
            the trust. 0 turns fusion off; 0.8 (default) remembers about five frames.
        cut_below: a frame where fewer than this share of pixels can be followed from
            the previous one starts a new shot: the memory is reset.
    """

    def __init__(self, strength: float = 0.8, cut_below: float = 0.3):
        if not 0.0 <= strength < 1.0:
            raise ConfigError(f"strength must be in [0, 1). Received: {strength}")
        if not 0.0 <= cut_below <= 1.0:
            raise ConfigError(f"cut_below must be in [0, 1]. Received: {cut_below}")
        self.strength = strength
        self.cut_below = cut_below
        self._estimator = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._previous_gray = None
        self._previous_ab = None
        self.cuts = 0

    def reset(self) -> None:
        """Forget the previous frame (a new shot, or a new video)."""
        self._previous_gray = None
        self._previous_ab = None

    def follow(self, gray: np.ndarray):
        """The previous frame's colour moved onto ``gray``'s pixels and the trust in it
        ``(warped_ab, confidence)``; None on the first frame of a shot (a cut is
        detected here and resets the memory)."""
        if self._previous_gray is None or self._previous_gray.shape != gray.shape:
            self.reset()
            return None
        backward = flow(self._previous_gray, gray, self._estimator)
        forward = self._estimator.calc(self._previous_gray, gray, None)
        confidence = flow_confidence(backward, forward)
        if float(np.mean(confidence > 0.5)) < self.cut_below:
            self.cuts += 1
            self.reset()
            return None
        return warp(self._previous_ab, backward), confidence

    def color(self, gray: np.ndarray, predict, keyframe: bool = True) -> np.ndarray:
        """This frame's colour, remembered for the next.

        Args:
            gray: uint8 (h, w), this frame's lightness at the processing size.
            predict: called with no arguments for the model's colour of this frame,
                float32 (h, w, 2); called on keyframes and wherever the frame cannot be
                followed from the previous one (the first frame of a shot).
            keyframe: False on frames the model may skip: where the frame can be
                followed, the carried colour is used alone.

        Returns:
            float32 (h, w, 2) ``ab_norm``.
        """
        followed = self.follow(gray)
        if followed is None:
            fused = predict()
        elif not keyframe:
            fused = followed[0]
        else:
            warped, confidence = followed
            weight = (self.strength * confidence)[..., None]
            fused = weight * warped + (1.0 - weight) * predict()
        self._previous_gray = gray
        self._previous_ab = np.asarray(fused, np.float32)
        return self._previous_ab


class WarpingError:
    """Flicker of a coloured sequence, added up one frame at a time (Lai et al. 2018):
    the mean absolute difference, in Lab units (the mean of a and b), between each
    frame's ab and the previous frame's ab warped along the flow of the gray frames,
    over pixels whose flow passes the forward-backward check. Holds one frame.
    """

    def __init__(self, estimator=None):
        self._estimator = estimator or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._previous = None
        self._total = 0.0
        self._count = 0

    def add(self, ab: np.ndarray, gray: np.ndarray) -> None:
        """The next frame: ``ab`` float (h, w, 2) ``ab_norm``, ``gray`` uint8 (h, w)."""
        ab = np.asarray(ab, np.float32)
        if self._previous is not None:
            previous_ab, previous_gray = self._previous
            backward = flow(previous_gray, gray, self._estimator)
            forward = self._estimator.calc(previous_gray, gray, None)
            trusted = flow_confidence(backward, forward) > 0.5
            difference = np.abs(ab - warp(previous_ab, backward)).mean(axis=-1) * 110.0
            self._total += float(difference[trusted].sum())
            self._count += int(trusted.sum())
        self._previous = (ab, gray)

    @property
    def value(self) -> float:
        """Lab units (0 for colour that moves exactly with its content); NaN before two
        frames."""
        return self._total / self._count if self._count else float("nan")


def warping_error(frames_ab, grays) -> float:
    """:class:`WarpingError` of a whole sequence.

    Args:
        frames_ab: iterable of float (h, w, 2) ``ab_norm``.
        grays: iterable of uint8 (h, w), the same frames' lightness.
    """
    measure = WarpingError()
    for ab, gray in zip(frames_ab, grays, strict=True):
        measure.add(ab, gray)
    return measure.value
