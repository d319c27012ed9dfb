"""Reading and writing video files with PyAV (FFmpeg in its wheels).

Frames are read one at a time, upright (a rotation in the file's metadata is applied),
as uint8 RGB arrays (H, W, 3) with their timestamps: memory does not grow with the
video's length. The output keeps every frame's timestamp (so variable frame rates stay
variable, and the frame count, rate and duration are the source's), the frame size, and
every audio stream, copied packet for packet.
"""

import collections
import dataclasses
import fractions
import heapq
import os

import av
import numpy as np

from kcolor.data.sources import VIDEO_EXTENSIONS
from kcolor.errors import KcolorError

_CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".avi": "avi", ".mkv": "matroska", ".webm": "webm"}
# H.264 plays in every browser from MP4; WebM holds VP8/VP9/AV1 only.
_DEFAULT_CODECS = {".webm": "libvpx-vp9"}
DEFAULT_CODEC = "libx264"
DEFAULT_CRF = 18


class VideoReadError(KcolorError):
    """A video that cannot be read; the message names the file and the reason."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video's header says.

    Attributes:
        width, height: upright frame size in pixels (after the file's rotation).
        frames: the frame count the header declares (0 when it does not say).
        rate: average frame rate in frames per second (None when unknown).
        time_base: the unit of the video stream's timestamps, in seconds.
        audio_streams: number of audio streams.
    """

    width: int
    height: int
    frames: int
    rate: fractions.Fraction | None
    time_base: fractions.Fraction
    audio_streams: int


@dataclasses.dataclass(frozen=True)
class Frame:
    """One decoded frame: ``rgb`` uint8 (H, W, 3) upright, ``pts`` its presentation
    timestamp in units of ``time_base`` seconds (None when the file gives none)."""

    rgb: np.ndarray
    pts: int | None
    time_base: fractions.Fraction


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def _open(path: str):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Video file {path!r} does not exist.")
    try:
        container = av.open(path)
    except (av.FFmpegError, ValueError) as error:
        raise VideoReadError(f"{path}: not a video FFmpeg can read ({_reason(error)})") from error
    if not container.streams.video:
        container.close()
        raise VideoReadError(f"{path}: holds no video stream")
    return container


def probe(path) -> VideoInfo:
    """Read a video's header and its first frame (whose rotation says which way is up).

    Raises:
        VideoReadError: naming ``path`` when it is not a readable video or holds no frame.
    """
    path = os.fspath(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except (av.FFmpegError, ValueError) as error:
            raise VideoReadError(f"{path}: cannot decode the video ({_reason(error)})") from error
        if first is None:
            raise VideoReadError(f"{path}: the video holds no frame")
        width, height = first.width, first.height
        if round(first.rotation or 0) % 180:
            width, height = height, width
        return VideoInfo(
            width=width,
            height=height,
            frames=stream.frames or 0,
            rate=stream.average_rate,
            time_base=stream.time_base,
            audio_streams=len(container.streams.audio),
        )
    finally:
        container.close()


def _upright(frame) -> np.ndarray:
    """The frame as uint8 RGB (H, W, 3), turned as its rotation metadata says."""
    rgb = frame.to_ndarray(format="rgb24")
    # FFmpeg gives the display matrix's rotation in degrees counter-clockwise;
    # np.rot90 turns counter-clockwise for positive k.
    turns = (round(frame.rotation or 0) % 360) // 90
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


# Frames held back to put timestamps in order: enough for the B-frame runs of common
# encoders.
_REORDER_DEPTH = 8


def read_frames(path):
    """Yield the video's frames (:class:`Frame`) in display order, one at a time.

    Decoders give frames in display order, but some containers (AVI, which stores no
    presentation times) hand them timestamps in decoding order; so the timestamps of the
    last few frames are sorted before they are given out (a no-op where they are right).

    Raises:
        VideoReadError: naming ``path`` when it cannot be opened or decoded.
    """
    path = os.fspath(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        decoded = container.decode(stream)
        waiting, stamps = collections.deque(), []
        while True:
            try:
                frame = next(decoded, None)
            except (av.FFmpegError, ValueError) as error:
                raise VideoReadError(
                    f"{path}: cannot decode the video ({_reason(error)})"
                ) from error
            if frame is not None:
                waiting.append((_upright(frame), frame.time_base or stream.time_base))
                if frame.pts is not None:
                    heapq.heappush(stamps, frame.pts)
            while waiting and (frame is None or len(waiting) > _REORDER_DEPTH):
                rgb, time_base = waiting.popleft()
                yield Frame(rgb, heapq.heappop(stamps) if stamps else None, time_base)
            if frame is None:
                return
    finally:
        container.close()


class VideoWriter:
    """Encodes frames into an open binary file, with a source video's audio copied.

    Use it as a context manager: leaving the block normally flushes the encoder and
    finishes the file; an exception leaves the file unfinished (the caller's atomic file
    then removes it, see :func:`kcolor.outputs.atomic_file`).

    Args:
        source: the video whose audio streams are copied and whose timestamps' unit
            (time base) and frame rate are kept.
        handle: a seekable binary file to write to.
        extension: the output's extension, which picks the container
            (:data:`VIDEO_EXTENSIONS`).
        width, height: frame size. An even size is encoded in 4:2:0 (what browsers
            play); H.264 cannot hold an odd size in 4:2:0, so an odd one is encoded in
            4:4:4, which keeps the size exactly (FFmpeg-based players show it; some
            browsers do not).
        crf: constant rate factor, lower is better and larger (x264: 0 to 51, 18 is
            visually near lossless; VP9: 0 to 63).
        codec: an FFmpeg encoder to use instead of the default.
    """

    def __init__(self, source, handle, extension: str, width: int, height: int,
                 crf: int = DEFAULT_CRF, codec: str | None = None):  # fmt: skip
        extension = extension.lower()
        if extension not in _CONTAINERS:
            raise KcolorError(f"a video is written as one of {VIDEO_EXTENSIONS}: not {extension}")
        self._source = _open(os.fspath(source))
        try:
            self._output = av.open(handle, "w", format=_CONTAINERS[extension])
            self._video = self._add_video_stream(
                _DEFAULT_CODECS.get(extension, DEFAULT_CODEC) if codec is None else codec,
                width,
                height,
                crf,
            )
            audio = self._source.streams.audio
            self._audio = {
                stream.index: self._output.add_stream_from_template(stream) for stream in audio
            }
            self._audio_packets = self._source.demux(*audio) if audio else iter(())
        except (av.FFmpegError, ValueError) as error:
            self._source.close()
            raise KcolorError(f"cannot encode {extension} video ({_reason(error)})") from error
        self._pending_audio = None
        self._last_pts = None

    def _add_video_stream(self, codec: str, width: int, height: int, crf: int):
        source_stream = self._source.streams.video[0]
        stream = self._output.add_stream(codec, rate=source_stream.average_rate or 25)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        stream.time_base = source_stream.time_base
        stream.codec_context.time_base = source_stream.time_base
        options = {"crf": str(crf)}
        if codec == "libvpx-vp9":
            options["b:v"] = "0"  # constant quality: the crf alone decides
        stream.options = options
        return stream

    def write(self, rgb: np.ndarray, pts: int | None, time_base: fractions.Fraction) -> None:
        """Encode one uint8 RGB frame (H, W, 3) at timestamp ``pts`` (in ``time_base``
        seconds), after the audio that starts before it. A missing or repeated timestamp
        becomes the previous one plus one unit (encoders need them increasing).

        Raises:
            KcolorError: the encoder or the container refused the frame.
        """
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = 0 if self._last_pts is None else self._last_pts + 1
        self._last_pts = pts
        try:
            self._copy_audio_until(float(pts * time_base))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            self._output.mux(self._video.encode(frame))
        except (av.FFmpegError, ValueError) as error:
            raise KcolorError(f"cannot encode the video ({_reason(error)})") from error

    def _copy_audio_until(self, seconds: float | None) -> None:
        """Copy the source's audio packets that start before ``seconds`` (all when None),
        so that audio and video reach the muxer interleaved."""
        while True:
            packet = self._pending_audio or next(self._audio_packets, None)
            self._pending_audio = None
            if packet is None:
                return
            if packet.dts is None:  # the demuxer's end-of-stream packet
                continue
            if seconds is not None and float(packet.dts * packet.time_base) > seconds:
                self._pending_audio = packet
                return
            packet.stream = self._audio[packet.stream.index]
            self._output.mux(packet)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        try:
            if kind is None:
                try:
                    self._output.mux(self._video.encode(None))
                    self._copy_audio_until(None)
                except (av.FFmpegError, ValueError) as failure:
                    raise KcolorError(f"cannot encode the video ({_reason(failure)})") from failure
        finally:
            self._output.close()
            self._source.close()
