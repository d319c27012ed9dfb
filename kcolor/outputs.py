"""Where colorized files go: expanding inputs, naming outputs, writing them atomically."""

import dataclasses
import os
import tempfile

import numpy as np
from PIL import Image

from kcolor import sources

FORMATS = {"png": "PNG", "jpg": "JPEG"}


@dataclasses.dataclass(frozen=True)
class Job:
    """One input image and the output paths its colourings go to."""

    source: str
    outputs: tuple[str, ...]


def plan_jobs(inputs, output_dir, fmt="png", samples=1):
    """Expand inputs to jobs; returns ``(jobs, problems)``.

    Folders are searched recursively and keep their relative structure under
    ``output_dir``; single files and glob matches are named by their file name. Each
    colouring is written as ``NAME.FORMAT``, or ``NAME_sample<k>.FORMAT`` when there are
    several. ``problems`` lists ``(input, reason)`` for inputs that name no image and
    for outputs two inputs would share.
    """
    jobs, problems, claimed = [], [], {}
    extension = "." + fmt
    # Outputs written into a folder being read (``-o photos/coloured``) must not become
    # inputs of the next run.
    output_root = os.path.realpath(output_dir) + os.sep
    for given in inputs:
        try:
            resolved = sources.resolve_source(given)
        except (FileNotFoundError, ValueError) as error:
            problems.append((os.fspath(given), str(error)))
            continue
        root = os.fspath(given) if os.path.isdir(given) else None
        for path in resolved.images:
            if os.path.realpath(path).startswith(output_root):
                continue
            relative = os.path.relpath(path, root) if root else os.path.basename(path)
            stem = os.path.join(os.fspath(output_dir), os.path.splitext(relative)[0])
            names = (
                [stem + extension]
                if samples == 1
                else [f"{stem}_sample{k}{extension}" for k in range(1, samples + 1)]
            )
            if names[0] in claimed:
                problems.append((path, f"its output {names[0]} is already {claimed[names[0]]}'s"))
                continue
            claimed[names[0]] = path
            jobs.append(Job(path, tuple(names)))
    return jobs, problems


def write_atomically(path: str, write) -> None:
    """Call ``write(binary_file)`` on a temporary file in ``path``'s folder and rename it
    to ``path`` when complete, so no partial file is ever left at ``path``."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=folder, prefix=".kcolor-", suffix=".partial", delete=False
    )
    try:
        with handle:
            write(handle)
        # Temporary files are private (0600); the output gets a new file's usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, path)
    except BaseException:
        # Also on Ctrl-C: the half-written temporary goes, the target is untouched.
        if os.path.exists(handle.name):
            os.remove(handle.name)
        raise


def save_image(rgb: np.ndarray, path: str, fmt: str = "png") -> None:
    """Write uint8 RGB to ``path`` as ``fmt`` ("png" or "jpg"), atomically."""
    options = {"quality": 95} if fmt == "jpg" else {}
    write_atomically(
        path, lambda handle: Image.fromarray(rgb).save(handle, FORMATS[fmt], **options)
    )
