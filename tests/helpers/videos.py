"""Videos made by the tests: a pan over a photo (known motion), a cut between two
photos, with or without audio, at variable frame rates."""

import fractions

import av
import numpy as np

TIME_BASE = fractions.Fraction(1, 1000)
AUDIO_RATE = 16000


def pan(photo: np.ndarray, frames: int, height: int, width: int, step: int = 2):
    """``frames`` uint8 RGB crops (height, width) of ``photo``, each ``step`` pixels
    right of the previous one."""
    return [photo[:height, k * step : k * step + width].copy() for k in range(frames)]


def write_video(
    path, frames, *, milliseconds=None, audio_seconds=0.0, codec="libx264", options=None,
    time_base=TIME_BASE,
):  # fmt: skip
    """Write ``frames`` (uint8 RGB arrays) at the given timestamps (milliseconds; 40 ms
    apart by default), with a sine tone of ``audio_seconds`` (AAC) if above 0; ``options``
    for the encoder (x264's crf 10 by default); timestamps in units of ``time_base``
    seconds (AVI's is one frame: 1/25)."""
    height, width = frames[0].shape[:2]
    milliseconds = milliseconds or [40 * k for k in range(len(frames))]
    with av.open(str(path), "w") as output:
        video = output.add_stream(codec, rate=25)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        video.time_base = video.codec_context.time_base = time_base
        video.options = options if options is not None else {"crf": "10"}
        audio = output.add_stream("aac", rate=AUDIO_RATE) if audio_seconds else None
        if audio is not None:
            audio.layout = "mono"
        for rgb, time in zip(frames, milliseconds, strict=True):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = round(time / 1000 / time_base), time_base
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        if audio is not None:
            samples = int(audio_seconds * AUDIO_RATE)
            tone = (0.3 * np.sin(np.arange(samples) * 0.05)).astype(np.float32)[None]
            for start in range(0, samples, 1024):
                piece = np.ascontiguousarray(tone[:, start : start + 1024])
                chunk = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = AUDIO_RATE, start
                chunk.time_base = fractions.Fraction(1, AUDIO_RATE)
                output.mux(audio.encode(chunk))
            output.mux(audio.encode(None))


def audio_packets(path) -> list[bytes]:
    """The audio stream's packets, as bytes (to compare a copy with its source)."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def frame_times(path) -> list[float]:
    """Each video frame's presentation time in seconds, in presentation order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(float(frame.pts * frame.time_base) for frame in container.decode(stream))


def textured_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 RGB with blobs of colour and light at several scales: texture that optical
    flow can follow, colour that a colorizer must guess."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    layers = []
    for cells in (6, 24):
        coarse = rng.uniform(0, 255, (height // cells + 2, width // cells + 2, 3)).astype(np.uint8)
        image = Image.fromarray(coarse).resize(
            ((width // cells + 2) * cells, (height // cells + 2) * cells), Image.BICUBIC
        )
        layers.append(np.asarray(image, np.float32)[:height, :width])
    return np.clip(0.6 * layers[0] + 0.4 * layers[1], 0, 255).astype(np.uint8)
