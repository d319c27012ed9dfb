"""Colorizing videos: frames through the photo colorize path, colour carried along the
motion between frames so that it stays put.

kcolor.video.io        reading and writing video files (PyAV), audio copied.
kcolor.video.temporal  optical flow, its forward-backward check, colour fusion, shot
                       cuts, and the warping error that measures flicker.
kcolor.video.colorize  colorize_video (a file) and colorized_frames (a generator).
"""

from kcolor.data.sources import VIDEO_EXTENSIONS, is_video
from kcolor.video.colorize import TemporalSettings, VideoResult, colorize_video, colorized_frames
from kcolor.video.io import VideoReadError

__all__ = [
    "VIDEO_EXTENSIONS",
    "TemporalSettings",
    "VideoReadError",
    "VideoResult",
    "colorize_video",
    "colorized_frames",
    "is_video",
]
