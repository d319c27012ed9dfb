"""Resolve user-given image sources (folders, globs, files, TFRecord shards) to file lists.

This runs once, in Python, when a pipeline is built; nothing here is on the per-image path.
"""

import dataclasses
import glob
import os
import sys
from collections.abc import Iterable

from kcolor.errors import ConfigError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords", ".tfrec")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    """One user-given source and the files it names.

    Attributes:
        source: the source as the user gave it (folder, glob pattern or file).
        images: image file paths, sorted.
        shards: TFRecord shard paths, sorted.
        left_out: ``(path, reason)`` for what the source holds that is none of these.
        videos: video file paths, sorted (only when asked for; otherwise left out).
    """

    source: str
    images: tuple[str, ...]
    shards: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...] = ()
    videos: tuple[str, ...] = ()


def is_video(path) -> bool:
    """Whether ``path`` names a video file, by its extension (:data:`VIDEO_EXTENSIONS`)."""
    return _has_extension(os.fspath(path), VIDEO_EXTENSIONS)


def _has_extension(path: str, extensions: tuple[str, ...]) -> bool:
    return path.lower().endswith(extensions)


def _is_glob(text: str) -> bool:
    return any(character in text for character in "*?[")


def _classify(paths: Iterable[str], videos_wanted: bool = False):
    """``(images, shards, videos, left_out)``: the paths sorted by kind (videos only if
    ``videos_wanted``); ``left_out`` holds ``(path, reason)`` for the others."""
    images, shards, videos, left_out = [], [], [], []
    for path in paths:
        if os.path.isfile(path) and _has_extension(path, TFRECORD_EXTENSIONS):
            shards.append(path)
        elif os.path.isfile(path) and _has_extension(path, IMAGE_EXTENSIONS):
            images.append(path)
        elif videos_wanted and os.path.isfile(path) and _has_extension(path, VIDEO_EXTENSIONS):
            videos.append(path)
        elif os.path.islink(path) and not os.path.exists(path):
            left_out.append((path, "a broken link"))
        elif os.path.isdir(path):
            left_out.append((path, "a folder, not a photo"))
        elif os.path.isfile(path):
            left_out.append((path, "not a photo (unknown extension)"))
        else:
            left_out.append((path, "not a regular file"))
    return (
        tuple(sorted(images)),
        tuple(sorted(shards)),
        tuple(sorted(videos)),
        tuple(sorted(left_out)),
    )


def _walk(folder: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Every entry under ``folder`` that is not a folder walked into (files, links,
    folders named like photos), and ``(path, reason)`` for linked folders not walked
    again (a link back to a folder above would otherwise repeat it without end)."""
    found, loops = [], []
    visited = {os.path.realpath(folder)}
    for root, dirs, files in os.walk(folder, followlinks=True):
        walked = []
        for name in sorted(dirs):
            # Hidden folders (.git, .ipynb_checkpoints, ...) hold no training photos.
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            real = os.path.realpath(path)
            if _has_extension(name, IMAGE_EXTENSIONS + TFRECORD_EXTENSIONS):
                found.append(path)  # a folder named like a photo: reported, not walked
            elif real in visited:
                loops.append((path, "a link to a folder already read (a link loop)"))
            else:
                visited.add(real)
                walked.append(name)
        dirs[:] = walked
        found.extend(os.path.join(root, name) for name in files if not name.startswith("."))
    return found, loops


def resolve_source(source: str | os.PathLike, videos: bool = False) -> ResolvedSource:
    """Expand one source into its image files and TFRecord shards (and videos).

    Args:
        source: a folder (searched recursively, hidden entries skipped), a glob pattern
            (``**`` is recursive), an image file (.jpg, .jpeg, .png, .bmp, .gif, .webp,
            any case) or a TFRecord shard (.tfrecord, .tfrecords, .tfrec).
        videos: also collect video files (.mp4, .mov, .avi, .mkv, .webm); otherwise
            they are left out like any other file.

    Raises:
        FileNotFoundError: the path does not exist, or the glob matches nothing.
        ValueError: the source names no image file or shard (e.g. an empty folder or a
            file with an unsupported extension).
    """
    text = os.fspath(source)
    loops = []
    if os.path.isdir(text):
        candidates, loops = _walk(text)
    elif os.path.isfile(text):
        candidates = [text]
    elif _is_glob(text):
        matches = glob.glob(text, recursive=True)
        if not matches:
            raise FileNotFoundError(f"The pattern {text!r} matches no file.")
        candidates = []
        for path in matches:
            if os.path.isdir(path):
                files, path_loops = _walk(path)
                candidates.extend(files)
                loops.extend(path_loops)
            else:
                candidates.append(path)
    else:
        raise FileNotFoundError(f"Image source {text!r} does not exist.")
    images, shards, found_videos, left_out = _classify(candidates, videos)
    if not images and not shards and not found_videos:
        expected = IMAGE_EXTENSIONS + TFRECORD_EXTENSIONS + (VIDEO_EXTENSIONS if videos else ())
        raise ConfigError(
            f"Image source {text!r} holds no image file or TFRecord shard"
            f"{' or video' if videos else ''}. Expected files ending in one of {expected}."
        )
    left_out = tuple(sorted(left_out + tuple(loops)))
    return ResolvedSource(text, images, shards, left_out, found_videos)


def resolve_sources(sources) -> list[ResolvedSource]:
    """Resolve a source or a list of sources (see :func:`resolve_source`)."""
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    sources = list(sources)
    if not sources:
        raise ConfigError("No image source given. Received: sources=[]")
    return [resolve_source(source) for source in sources]


def warn_skipped(name: str, problem: str) -> None:
    """Report on stderr that a file was skipped, in the form kcolor's pipeline uses."""
    print(f"WARNING kcolor: skipped {name}: {problem}", file=sys.stderr)


def readable_files(paths) -> list[str]:
    """The paths this process may read; the others are reported and left out.

    Checked once when a pipeline is built, because a read error inside ``tf.data`` would
    end the epoch; a file that vanishes later is skipped by the pipeline's backstop.
    """
    readable = []
    for path in paths:
        if os.access(path, os.R_OK):
            readable.append(path)
        else:
            warn_skipped(path, "cannot be read (permission denied)")
    return readable
