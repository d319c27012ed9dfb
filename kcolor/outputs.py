"""Where colorized files go: expanding inputs, naming outputs, writing them atomically."""

import dataclasses
import os
import tempfile
import threading

import numpy as np
from PIL import Image

from kcolor import sources

FORMATS = {"png": "PNG", "jpg": "JPEG"}
# Encoder settings per format. PNG at zlib level 1 rather than Pillow's 6: on 24
# photos of 768x512 it encoded 5.6x faster for files 4.8% larger (docs/results.md);
# PNG stays lossless at every level. JPEG at quality 95.
ENCODER_OPTIONS = {"png": {"compress_level": 1}, "jpg": {"quality": 95}}


_UMASK_LOCK = threading.Lock()


def _process_umask() -> int:
    """The process's umask. Linux reports it in /proc/self/status, which changes nothing;
    elsewhere reading it means setting it for a moment (under a lock, so that two threads
    reading it at once cannot leave it at 0)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0)
        os.umask(umask)
    return umask


@dataclasses.dataclass(frozen=True)
class Job:
    """One input image and the output paths its colourings go to."""

    source: str
    outputs: tuple[str, ...]


def plan_jobs(inputs, output_dir, fmt="png", samples=1):
    """Expand inputs to jobs; returns ``(jobs, problems)``.

    Folders are searched recursively and keep their relative structure under
    ``output_dir``; single files and glob matches are named by their file name. Inputs
    inside ``output_dir`` are colorized like any other, except when ``output_dir`` is a
    folder nested in a folder being read (its files are earlier runs' outputs); an input
    whose output would be the input file itself is a problem, never overwritten. Each
    colouring is written as ``NAME.FORMAT``, or ``NAME_sample<k>.FORMAT`` when there are
    several. ``problems`` lists ``(input, reason)`` for inputs that name no image and
    for outputs two inputs would share.
    """
    jobs, problems, claimed = [], [], {}
    extension = "." + fmt
    output_root = os.path.realpath(output_dir)
    for given in inputs:
        try:
            resolved = sources.resolve_source(given)
        except (FileNotFoundError, ValueError) as error:
            problems.append((os.fspath(given), str(error)))
            continue
        root = os.fspath(given) if os.path.isdir(given) else None
        # An output folder nested inside a folder being read (``photos/ -o
        # photos/coloured``) holds earlier runs' outputs, not inputs: left out.
        nested = root is not None and _strictly_inside(output_root, os.path.realpath(root))
        for path in resolved.images:
            if nested and _strictly_inside(os.path.realpath(path), output_root):
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
            if any(os.path.realpath(name) == os.path.realpath(path) for name in names):
                # Even with --force: an input is never overwritten.
                problems.append(
                    (path, "its output would replace the input itself; choose another -o")
                )
                continue
            claimed[names[0]] = path
            jobs.append(Job(path, tuple(names)))
    return jobs, problems


class OutputExists(FileExistsError):
    """An output file exists (or appeared while it was written) and may not be replaced."""


def _strictly_inside(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip(os.sep) + os.sep)


def write_atomically(path: str, write, replace: bool = True) -> None:
    """Call ``write(binary_file)`` on a temporary file in ``path``'s folder and rename it
    to ``path`` when complete, so no partial file is ever left at ``path``.

    Args:
        replace: replace a file at ``path``. False: the final step refuses to, even for
            a file that appeared while this one was written (by another run, say).

    Raises:
        OutputExists: ``replace`` is false and ``path`` exists.
        OSError: the folder cannot be created or written.
    """
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=folder, prefix=".kcolor-", suffix=".partial", delete=False
    )
    try:
        with handle:
            write(handle)
        # Temporary files are private (0600); the output gets a new file's usual mode.
        os.chmod(handle.name, 0o666 & ~_process_umask())
        if replace:
            os.replace(handle.name, path)
        else:
            _move_without_replacing(handle.name, path)
    except BaseException:
        # Also on Ctrl-C: the half-written temporary goes, the target is untouched.
        if os.path.exists(handle.name):
            os.remove(handle.name)
        raise


def _move_without_replacing(source: str, target: str) -> None:
    # A hard link is created only if the target does not exist, in one step: the check
    # and the move cannot be split by another writer (os.rename would replace silently).
    try:
        os.link(source, target)
    except FileExistsError:
        raise OutputExists(f"{target} exists") from None
    except OSError:
        # Filesystems without hard links: claim the name exclusively, then move over it.
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise OutputExists(f"{target} exists") from None
        os.replace(source, target)
        return
    os.remove(source)


def save_image(rgb: np.ndarray, path: str, fmt: str = "png", replace: bool = True) -> None:
    """Write uint8 RGB to ``path`` as ``fmt`` ("png" or "jpg"), atomically (see
    :func:`write_atomically` for ``replace``)."""
    write_atomically(
        path,
        lambda handle: Image.fromarray(rgb).save(handle, FORMATS[fmt], **ENCODER_OPTIONS[fmt]),
        replace,
    )
