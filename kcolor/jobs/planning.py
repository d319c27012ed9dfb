"""Which outputs a run of ``kcolor colorize`` writes for its inputs: :func:`plan_jobs`."""

import dataclasses
import os

from kcolor.data import sources


def _strictly_inside(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclasses.dataclass(frozen=True)
class Job:
    """One input image and the output paths its colourings go to."""

    source: str
    outputs: tuple[str, ...]


def plan_jobs(inputs, output_dir, fmt="png", samples=1, left_out=None):
    """Expand inputs to jobs; returns ``(jobs, problems)``.

    Folders are searched recursively and keep their relative structure under
    ``output_dir``; single files and glob matches are named by their file name. Inputs
    inside ``output_dir`` are colorized like any other, except when ``output_dir`` is a
    folder nested in a folder being read (its files are earlier runs' outputs); an input
    whose output would be the input file itself is a problem, never overwritten. Each
    colouring is written as ``NAME.FORMAT``, or ``NAME_sample<k>.FORMAT`` when there are
    several; a video as ``NAME`` with its own extension (one colouring). ``problems``
    lists ``(input, reason)`` for inputs that name no image and
    for outputs two inputs would share. ``left_out``, a list, receives ``(path, reason)``
    for what the input folders hold that is not a photo (other files, broken links,
    folders named like photos, link loops).
    """
    problems, claimed, jobs = [], {}, []
    expanded = _expand(inputs, os.path.realpath(output_dir), problems, left_out)
    # Every input of the run, so that no output lands on any of them (``x.jpg`` and
    # ``x.png`` colorized into their own folder), whatever the format and --force.
    input_files = {os.path.realpath(path): path for _, paths in expanded for path in paths}
    for root, paths in expanded:
        for path in paths:
            names = _output_names(path, root, output_dir, "." + fmt, samples)
            if names is None:
                problems.append((path, "a video gets one colouring; --samples is for photos"))
                continue
            if names[0] in claimed:
                problems.append((path, f"its output {names[0]} is already {claimed[names[0]]}'s"))
                continue
            replaced = [input_files.get(os.path.realpath(name)) for name in names]
            replaced = next((other for other in replaced if other is not None), None)
            if replaced is not None:
                # Even with --force: an input is never overwritten.
                what = "the input itself" if replaced == path else f"the input {replaced}"
                problems.append((path, f"its output would replace {what}; choose another -o"))
                continue
            claimed[names[0]] = path
            jobs.append(Job(path, tuple(names)))
    return jobs, problems


def _expand(inputs, output_root: str, problems: list, left_out) -> list:
    """``[(folder or None, [paths])]`` of each input that names something; the others go
    to ``problems``, what folders hold that is not a photo or video to ``left_out``."""
    expanded = []
    for given in inputs:
        try:
            resolved = sources.resolve_source(given, videos=True)
        except (FileNotFoundError, ValueError) as error:
            problems.append((os.fspath(given), str(error)))
            continue
        root = os.fspath(given) if os.path.isdir(given) else None
        # An output folder nested inside a folder being read (``photos/ -o
        # photos/coloured``) holds earlier runs' outputs, not inputs: left out.
        nested = root is not None and _strictly_inside(output_root, os.path.realpath(root))
        paths = [
            path
            for path in sorted(resolved.images + resolved.videos)
            if not (nested and _strictly_inside(os.path.realpath(path), output_root))
        ]
        if left_out is not None:
            left_out.extend(resolved.left_out)
        expanded.append((root, paths))
    return expanded


def _output_names(path: str, root, output_dir, extension: str, samples: int):
    """The outputs of ``path`` (found under the folder ``root``, or given by itself):
    ``NAME.EXT`` or ``NAME_sample<k>.EXT``; a video keeps its container. None for a video
    asked for several colourings."""
    relative = os.path.relpath(path, root) if root else os.path.basename(path)
    stem, own_extension = os.path.splitext(relative)
    stem = os.path.join(os.fspath(output_dir), stem)
    if sources.is_video(path):
        return [stem + own_extension] if samples == 1 else None
    if samples == 1:
        return [stem + extension]
    return [f"{stem}_sample{k}{extension}" for k in range(1, samples + 1)]


def is_video_job(job: Job) -> bool:
    """Whether ``job`` colorizes a video (by its input's extension)."""
    return sources.is_video(job.source)
