"""kcolor.video.io: frames in upright with their timestamps; frames out with the
source's timestamps, size and audio."""

import types
from fractions import Fraction

import numpy as np
import pytest
from helpers.videos import audio_packets, frame_times, pan, textured_photo, write_video

from kcolor import outputs
from kcolor.data.sources import is_video
from kcolor.video import io


def copy_video(source, destination, frames=None, transform=lambda rgb: rgb):
    """Decode ``source`` and encode its frames (``transform``-ed) into ``destination``."""
    info = io.probe(source)
    with outputs.atomic_file(str(destination), replace=False) as handle:
        with io.VideoWriter(source, handle, destination.suffix, info.width, info.height) as writer:
            for frame in frames or io.read_frames(source):
                writer.write(transform(frame.rgb), frame.pts, frame.time_base)
    return info


def test_frames_timestamps_size_and_audio_survive_a_round_trip(tmp_path):
    photo = textured_photo(80, 200)
    frames = pan(photo, 12, 48, 64, step=3)
    milliseconds = [0, 40, 120, 160, 200, 300, 340, 380, 500, 540, 580, 620]  # variable rate
    source = tmp_path / "clip.mp4"
    write_video(source, frames, milliseconds=milliseconds, audio_seconds=0.8)
    info = copy_video(source, tmp_path / "copy.mp4")
    copied = io.probe(tmp_path / "copy.mp4")
    assert (
        (copied.width, copied.height, copied.frames)
        == (64, 48, 12)
        == (info.width, info.height, info.frames)
    )
    assert frame_times(tmp_path / "copy.mp4") == pytest.approx([m / 1000 for m in milliseconds])
    assert audio_packets(tmp_path / "copy.mp4") == audio_packets(source) != []
    before = [frame.rgb for frame in io.read_frames(source)][5]
    after = [frame.rgb for frame in io.read_frames(tmp_path / "copy.mp4")][5]
    luma = np.array([0.299, 0.587, 0.114])  # what H.264 keeps at full resolution
    assert np.abs(after @ luma - before @ luma).mean() < 2  # crf 18: near lossless


@pytest.mark.parametrize(
    "suffix, size", [(".mp4", (47, 63)), (".webm", (48, 64)), (".mkv", (48, 64))]
)
def test_containers_one_frame_no_audio_and_odd_sizes(tmp_path, suffix, size):
    height, width = size
    source = tmp_path / "one.mp4"
    write_video(source, [textured_photo(height, width)])
    copy_video(source, (tmp_path / "out").with_suffix(suffix))
    info = io.probe((tmp_path / "out").with_suffix(suffix))
    assert (info.width, info.height, info.audio_streams) == (width, height, 0)
    assert len(list(io.read_frames((tmp_path / "out").with_suffix(suffix)))) == 1


def test_timestamps_handed_out_of_order_are_put_back_in_order(monkeypatch):
    """AVI stores decoding times only: with B-frames FFmpeg hands frames, which come in
    display order, the timestamps of decoding order (1, 2, 4, 3, 5, ...)."""
    order = [1, 2, 4, 3, 5, 7, 6, 8, 10, 9, 11, 12]

    class FakeFrame:
        def __init__(self, index, pts):
            self.pts, self.time_base, self.rotation, self.index = pts, Fraction(1, 25), 0, index

        def to_ndarray(self, format):
            return np.full((2, 2, 3), self.index, np.uint8)

    stream = types.SimpleNamespace(time_base=Fraction(1, 25), thread_type=None)
    container = types.SimpleNamespace(
        streams=types.SimpleNamespace(video=[stream]),
        decode=lambda stream: iter([FakeFrame(k, pts) for k, pts in enumerate(order)]),
        close=lambda: None,
    )
    monkeypatch.setattr(io, "_open", lambda path: container)
    frames = list(io.read_frames("film.avi"))
    assert [frame.pts for frame in frames] == sorted(order)
    assert [int(frame.rgb[0, 0, 0]) for frame in frames] == list(range(12))  # display order kept


def test_avi_with_b_frames_is_copied_with_increasing_timestamps(tmp_path):
    source = tmp_path / "b_frames.avi"
    write_video(source, pan(textured_photo(48, 140), 12, 48, 64, step=3), codec="mpeg4",
                options={"bf": "2", "qscale": "2"}, time_base=Fraction(1, 25))  # fmt: skip
    copy_video(source, tmp_path / "copy.avi")
    times = [frame.pts for frame in io.read_frames(tmp_path / "copy.avi")]
    assert len(times) == 12 and all(b > a for a, b in zip(times, times[1:], strict=False))


def test_rotation_metadata_turns_frames_upright():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    frame = types.SimpleNamespace(rotation=90, to_ndarray=lambda format: rgb)
    assert io._upright(frame).shape == (3, 2, 3)
    np.testing.assert_array_equal(io._upright(frame), np.rot90(rgb))
    frame.rotation = -90
    np.testing.assert_array_equal(io._upright(frame), np.rot90(rgb, k=3))


def test_unreadable_videos_are_named_with_the_reason(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(io.VideoReadError, match="junk.mp4: not a video FFmpeg can read"):
        io.probe(junk)
    whole = tmp_path / "whole.mp4"
    write_video(whole, pan(textured_photo(40, 120), 6, 32, 48))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # MP4's index is at the end
    with pytest.raises(io.VideoReadError, match="cut.mp4"):
        list(io.read_frames(cut))
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        io.probe(tmp_path / "missing.mp4")
    assert is_video("A.MOV") and not is_video("a.png")


def test_an_interrupted_encoding_leaves_no_file(tmp_path):
    source = tmp_path / "clip.mp4"
    write_video(source, pan(textured_photo(40, 120), 6, 32, 48), audio_seconds=0.3)

    def frames():
        for index, frame in enumerate(io.read_frames(source)):
            if index == 3:
                raise KeyboardInterrupt
            yield frame

    with pytest.raises(KeyboardInterrupt):
        copy_video(source, tmp_path / "out.mp4", frames=frames())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]
