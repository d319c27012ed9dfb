"""Colorizing a video: every frame through the photo colorize path (the same model,
precision, processing size, seed and limits), colour carried along the motion between
frames (:mod:`kcolor.video.temporal`), the result encoded beside the source's audio.

Decoding, the network and compose-and-encode overlap: a reader thread decodes the next
frames and a writer thread composes and encodes the finished ones while the network
works, each holding at most a few frames, so memory stays flat however long the video.
"""

import concurrent.futures
import dataclasses
import os
import queue
import threading

import numpy as np
from tqdm import tqdm

from kcolor import api, inference, outputs
from kcolor.errors import ConfigError
from kcolor.limits import DEFAULT_MAX_PIXELS
from kcolor.video import io
from kcolor.video.temporal import ColorMemory

FRAMES_IN_FLIGHT = 4  # per stage: decoded and waiting, composed and waiting


@dataclasses.dataclass(frozen=True)
class TemporalSettings:
    """How colour is carried between frames.

    Attributes:
        enabled: False colours every frame on its own (for comparison).
        strength: weight of the carried colour where the flow is trusted, in [0, 1).
        keyframe_interval: the network runs on every k-th frame (and on the first frame
            of each shot); in between, colour is carried along the flow alone. 1 runs
            it on every frame.
    """

    enabled: bool = True
    strength: float = 0.8
    keyframe_interval: int = 1

    def __post_init__(self):
        if not 0.0 <= self.strength < 1.0:
            raise ConfigError(f"strength must be in [0, 1). Received: {self.strength}")
        if self.keyframe_interval < 1:
            raise ConfigError(
                f"keyframe_interval must be at least 1. Received: {self.keyframe_interval}"
            )
        if self.keyframe_interval > 1 and not self.enabled:
            raise ConfigError(
                "keyframes carry colour along the motion: they need temporal fusion on"
            )


@dataclasses.dataclass(frozen=True)
class VideoResult:
    """What a colorized video was: frames written, shot cuts found, network calls made,
    the seed used (GAN; None otherwise) and the output path."""

    frames: int
    cuts: int
    predicted: int
    seed: int | None
    destination: str


def gray_uint8(l_norm) -> np.ndarray:
    """uint8 (h, w) lightness from ``l_norm`` (1, h, w, 1) in [-1, 1]."""
    values = (np.asarray(l_norm)[0, ..., 0] + 1.0) * 127.5
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def prefetched(iterable, depth: int):
    """``iterable``'s items, produced by a thread up to ``depth`` ahead; its errors are
    raised here. Stops the thread when the consumer stops early."""
    items = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def put(entry) -> bool:
        # Never blocks past a stop: a consumer that stopped reads nothing more.
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterable:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as error:  # handed to the consumer, which raises it
            put((end, error))
        finally:
            if hasattr(iterable, "close"):
                iterable.close()  # a generator: its clean-up (closing the file) runs here

    thread = threading.Thread(target=produce, name="kcolor-video-read", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class FrameColorer:
    """Colours one frame after another of one video: network, memory and seed."""

    def __init__(self, colorizer, temporal: TemporalSettings, seed: int | None):
        self.colorizer = colorizer
        self.temporal = temporal
        # One seed for the whole video: the GAN's noise, and so its colouring, stays the
        # same from frame to frame.
        self.seed = colorizer.choose_seed(seed)
        self.memory = ColorMemory(temporal.strength) if temporal.enabled else None
        self.index = 0
        self.predicted = 0

    def ab(self, rgb: np.ndarray) -> np.ndarray:
        """float32 (h, w, 2) ``ab_norm`` of this frame at the processing size."""
        l_norm = self.colorizer.model_input(rgb)
        return self.carry(l_norm, lambda: self.predict(l_norm))

    def predict(self, l_norm) -> np.ndarray:
        """The network's own colouring of a frame: float32 (h, w, 2) ``ab_norm``."""
        ab = self.colorizer.predict_ab(l_norm, 1, self.seed)
        return np.asarray(ab, np.float32)[0, 0]

    def carry(self, l_norm, predict) -> np.ndarray:
        """This frame's ``ab_norm``: the network's colouring (``predict()``, called only on
        keyframes when colour is carried) fused with the colour carried from the frames
        before."""
        keyframe = self.index % self.temporal.keyframe_interval == 0
        self.index += 1

        def counted():
            self.predicted += 1
            return predict()

        if self.memory is None:
            return counted()
        return self.memory.color(gray_uint8(l_norm), counted, keyframe)


def colorized_frames(
    source,
    model=None,
    *,
    size: int = 256,
    precision: str = "auto",
    temporal: TemporalSettings = TemporalSettings(),
    seed: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
):
    """Yield ``(frame, rgb)`` for each frame of the video ``source``: the decoded
    :class:`~kcolor.video.io.Frame` and its colorized uint8 RGB (H, W, 3), one at a time
    (for notebooks; :func:`colorize_video` writes a file).

    Args:
        model: a bundled name, a ``.keras`` / ``.tflite`` file, a model object (see
            :func:`kcolor.load_model`) or a colorizer (``kcolor.make_colorizer``).
        size: shorter side of the processing size, in pixels.
        precision: "auto", "float32", "bfloat16" or "int8" (see :mod:`kcolor.precision`).
        temporal: how colour is carried between frames (see :class:`TemporalSettings`).
        seed: the GAN's seed for the whole video (None: one at random).
        max_pixels: refuse a video whose frames have more pixels (None: no limit).
    """
    source = os.fspath(source)
    colorizer = _colorizer(model, size, precision)
    info = io.probe(source)
    inference.check_pixels(source, info.width, info.height, max_pixels)
    colorer = FrameColorer(colorizer, temporal, seed)
    for frame in prefetched(io.read_frames(source), FRAMES_IN_FLIGHT):
        yield frame, inference.compose(frame.rgb, colorer.ab(frame.rgb))


def _colorizer(model, size: int, precision: str):
    if isinstance(model, inference.BaseColorizer):
        return model
    return api.make_colorizer(model, size, precision)


def colorize_video(
    source,
    destination,
    model=None,
    *,
    size: int = 256,
    precision: str = "auto",
    temporal: TemporalSettings = TemporalSettings(),
    seed: int | None = None,
    crf: int = io.DEFAULT_CRF,
    codec: str | None = None,
    force: bool = False,
    progress: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> VideoResult:
    """Colorize the video ``source`` into ``destination`` (same frames, timestamps, size
    and audio; the container from ``destination``'s extension, H.264 or VP9 for WebM).

    The file is written under a temporary name and renamed when complete: an error or
    Ctrl-C leaves no partial video. Arguments as :func:`colorized_frames`, and:

    Args:
        crf: encoder quality (x264: 0 to 51, lower is better; 18 by default).
        codec: an FFmpeg encoder name instead of the default.
        force: replace an existing ``destination``.
        progress: show a progress bar in frames.

    Raises:
        outputs.OutputExists: ``destination`` exists and ``force`` is off.
        io.VideoReadError: naming ``source`` when it cannot be read.
    """
    source, destination = os.fspath(source), os.fspath(destination)
    if os.path.exists(destination) and not force:
        raise outputs.OutputExists(f"{destination} exists (pass --force to replace it)")
    colorizer = _colorizer(model, size, precision)
    info = io.probe(source)
    inference.check_pixels(source, info.width, info.height, max_pixels)
    colorer = FrameColorer(colorizer, temporal, seed)
    extension = os.path.splitext(destination)[1]
    bar = tqdm(
        total=info.frames or None, unit="frame", desc=os.path.basename(source), disable=not progress
    )
    writes = []
    count = 0
    try:
        with (
            outputs.atomic_file(destination, replace=force) as handle,
            io.VideoWriter(
                source, handle, extension, info.width, info.height, crf, codec
            ) as writer,
            concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="kcolor-video-write"
            ) as pool,
        ):
            for frame in prefetched(io.read_frames(source), FRAMES_IN_FLIGHT):
                ab = colorer.ab(frame.rgb)
                writes.append(pool.submit(_compose_and_write, writer, frame, ab))
                while len(writes) > FRAMES_IN_FLIGHT or (writes and writes[0].done()):
                    writes.pop(0).result()
                    count += 1
                    bar.update(1)
            for write in writes:
                write.result()
                count += 1
                bar.update(1)
    finally:
        bar.close()
    return VideoResult(
        count,
        colorer.memory.cuts if colorer.memory else 0,
        colorer.predicted,
        colorer.seed,
        destination,
    )


def _compose_and_write(writer, frame, ab) -> None:
    writer.write(inference.compose(frame.rgb, ab), frame.pts, frame.time_base)
