"""Colorizing many files: what ``kcolor colorize`` runs.

Files are read and colorized in batches of the same processing size, every failure is
recorded with its file and reason while the rest go on, and no existing output is
replaced unless asked.

The work runs as a pipeline of three stages, so that reading and decoding the next
photos, and composing, encoding and writing the finished ones, overlap with the network:
a reader thread, the network on the calling thread, and a writer thread. Each stage
holds at most ``max(2, batch_size)`` photos, and all stages together at most
:data:`PIXELS_IN_FLIGHT` pixels, except that a photo larger than that is admitted
alone, once the photos before it are written; so a folder of huge photos needs the
memory of one at a time, as an unpipelined loop would.
"""

import collections
import concurrent.futures
import dataclasses
import io
import os
import sys
import warnings

import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm import tqdm

from kcolor import inference, outputs
from kcolor.data import sources
from kcolor.deploy import serving
from kcolor.errors import KcolorError

# Pixels held by the pipeline's stages together (a 30-megapixel photo needs about
# 0.6 GB on the way through; see docs/results.md for the peak per pixel).
PIXELS_IN_FLIGHT = 30_000_000


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
    jobs, problems, claimed = [], [], {}
    extension = "." + fmt
    output_root = os.path.realpath(output_dir)
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
    # Every input of the run, so that no output lands on any of them (``x.jpg`` and
    # ``x.png`` colorized into their own folder), whatever the format and --force.
    input_files = {os.path.realpath(path): path for _, paths in expanded for path in paths}
    for root, paths in expanded:
        for path in paths:
            relative = os.path.relpath(path, root) if root else os.path.basename(path)
            stem, own_extension = os.path.splitext(relative)
            stem = os.path.join(os.fspath(output_dir), stem)
            if sources.is_video(path):
                if samples != 1:
                    problems.append((path, "a video gets one colouring; --samples is for photos"))
                    continue
                names = [stem + own_extension]  # a video stays in its own container
            elif samples == 1:
                names = [stem + extension]
            else:
                names = [f"{stem}_sample{k}{extension}" for k in range(1, samples + 1)]
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


def one_line(text: str) -> str:
    """``text`` with newlines and other control characters escaped (``\\n``), so that a
    file name holding one cannot split or forge a report line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


@dataclasses.dataclass
class BatchReport:
    """What a run did: outputs written, inputs skipped, and failures with reasons."""

    written: list[str] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def extend(self, other: "BatchReport") -> None:
        """Add ``other``'s outputs, skips and failures to this report."""
        self.written.extend(other.written)
        self.skipped.extend(other.skipped)
        self.failed.extend(other.failed)


def is_video_job(job: Job) -> bool:
    """Whether ``job`` colorizes a video (by its input's extension)."""
    return sources.is_video(job.source)


class JobRun:
    """The rules every colorizing run keeps, locally or through a server: jobs whose
    outputs exist are skipped unless ``force``, every failure is recorded with its file
    and reason and printed while the rest go on, and outputs are written atomically.

    Args:
        total: jobs in the run (for the progress bar).
        force: replace existing outputs.
        progress: show a progress bar when there are several jobs.
    """

    def __init__(self, total: int, force: bool, progress: bool):
        self.report = BatchReport()
        self.force = force
        self.bar = tqdm(total=total, unit="img", disable=not progress or total < 2)

    def _print(self, kind: str, name: str, reason: str) -> None:
        tqdm.write(one_line(f"{kind} {name}: {reason}"), file=sys.stderr)

    def remove_stale_temporaries(self, jobs) -> list[str]:
        """Remove temporary outputs left by killed runs in the folders ``jobs`` write
        to, and say so; returns the paths removed."""
        folders = sorted({os.path.dirname(path) or "." for job in jobs for path in job.outputs})
        removed = [path for folder in folders for path in outputs.remove_stale_temporaries(folder)]
        for path in removed:
            tqdm.write(
                f"removed {path}: a temporary output of a run that was killed", file=sys.stderr
            )
        return removed

    def skipped(self, job: Job) -> bool:
        """Whether ``job`` is skipped (an output exists and ``force`` is off); records it."""
        existing = [path for path in job.outputs if os.path.exists(path)]
        if not existing or self.force:
            return False
        reason = f"{existing[0]} exists (pass --force to replace it)"
        self.report.skipped.append((job.source, reason))
        self._print("skipped", job.source, reason)
        self.bar.update(1)
        return True

    def fail(self, job: Job, reason: str) -> None:
        """Record ``job`` as failed, for ``reason``."""
        self.report.failed.append((job.source, reason))
        self._print("failed", job.source, reason)
        self.bar.update(1)

    def write(self, job: Job, write_each) -> bool:
        """Write a job's outputs with ``write_each(k, path, replace)`` (colouring ``k``);
        a write that fails is the job's failure, with the reason. Safe to call from a
        writer thread. Returns whether every output was written (the caller then counts
        the job done with :meth:`done`)."""
        for k, path in enumerate(job.outputs):
            try:
                write_each(k, path, self.force)
            except outputs.OutputExists:
                reason = f"{path} appeared while it was written (pass --force to replace it)"
            except OSError as error:
                reason = f"cannot write {path}: {error.strerror or error}"
            else:
                self.report.written.append(path)
                continue
            self.fail(job, reason)
            return False
        return True

    def done(self) -> None:
        """Count one job finished (its outputs written)."""
        self.bar.update(1)

    def close(self) -> BatchReport:
        self.bar.close()
        return self.report


# What running out of memory raises: Python's allocations and TensorFlow's.
OUT_OF_MEMORY = (MemoryError, tf.errors.ResourceExhaustedError)


def out_of_memory_reason(pixels: int) -> str:
    """The failure line of a photo that did not fit in memory."""
    size = f"its {pixels:,} pixels" if pixels else "it"
    return (
        f"not enough memory for {size}; the other photos go on (--max-pixels N refuses "
        "photos over N pixels before reading them)"
    )


def _declared_pixels(encoded: bytes) -> int:
    """Pixels an encoded image's header declares, read by Pillow without decoding (a
    fraction of a millisecond, on the thread that runs the network); 0 when Pillow cannot
    tell. Only the memory budget uses it: the pixel limit is checked on decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(encoded)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return PIXELS_IN_FLIGHT  # huge: admitted alone, then refused by the pixel limit
    except (OSError, ValueError, SyntaxError):
        return 0
    return width * height


def colorize_files(
    jobs,
    colorizer,
    *,
    samples: int = 1,
    seed: int | None = None,
    batch_size: int = 1,
    fmt: str = "png",
    force: bool = False,
    progress: bool = True,
    max_pixels: int | None = inference.DEFAULT_MAX_PIXELS,
    pixels_in_flight: int = PIXELS_IN_FLIGHT,
) -> BatchReport:
    """Colorize every job's input into its outputs (see :func:`plan_jobs`).

    Args:
        jobs: :class:`Job` items (see :func:`plan_jobs`).
        colorizer: the model and processing size (``model_input`` and ``predict_ab``,
            as :func:`kcolor.make_colorizer` gives).
        samples: colourings per image (more than 1 needs the GAN).
        seed: makes the GAN's colourings repeatable.
        batch_size: photos run through the model together, when they share a
            processing size.
        fmt: "png" or "jpg".
        force: replace existing outputs; otherwise inputs whose outputs exist are skipped.
        progress: show a progress bar when there are several inputs.
        max_pixels: refuse photos of more pixels (read from the header); None: no limit.
        pixels_in_flight: pixels the pipeline holds at once (see the module's notes).
    """
    run = JobRun(len(jobs), force, progress)
    run.remove_stale_temporaries(jobs)
    stage_photos = max(2, batch_size)
    waiting = collections.deque(jobs)
    peeked = None  # (job, encoded, pixels) of waiting[0], read but not yet admitted
    reads = collections.deque()  # (job, pixels, future of (rgb, l_norm)), in job order
    pending = {}  # processing shape -> [(job, rgb, l_norm, pixels)]
    writes = collections.deque()  # (pixels, future)
    held = 0  # pixels admitted and not yet written
    reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kcolor-read")
    writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kcolor-write")

    def next_waiting():
        """The next job's photo bytes and declared pixels, or None after reporting a job
        that is skipped or cannot be read."""
        job = waiting[0]
        if run.skipped(job):
            waiting.popleft()
            return None
        try:
            encoded = inference.read_file(job.source)
        except inference.ImageReadError as error:
            waiting.popleft()
            run.fail(job, str(error).removeprefix(job.source + ": "))
            return None
        return job, encoded, _declared_pixels(encoded)

    def decode(job, encoded):
        try:
            rgb = inference.decode_photo(job.source, encoded, max_pixels)
            return rgb, colorizer.model_input(rgb)
        except OUT_OF_MEMORY as error:
            raise inference.ImageReadError(
                f"{job.source}: {out_of_memory_reason(_declared_pixels(encoded))}"
            ) from error

    def compose_and_write(job, rgb, ab):
        try:
            return run.write(
                job,
                lambda k, path, replace: outputs.save_image(
                    inference.compose(rgb, ab[k]), path, fmt, replace
                ),
            )
        except OUT_OF_MEMORY:
            run.fail(job, out_of_memory_reason(rgb.shape[0] * rgb.shape[1]))
            return False

    def release(pixels):
        nonlocal held
        held -= pixels

    def finish_oldest_write():
        pixels, future = writes.popleft()
        if future.result():
            run.done()
        release(pixels)

    def run_pending():
        for group in pending.values():
            l_norm = tf.concat([entry[2] for entry in group], axis=0)
            try:
                ab = np.asarray(colorizer.predict_ab(l_norm, samples, seed))
            except OUT_OF_MEMORY:
                for job, rgb, _, pixels in group:
                    release(pixels)
                    run.fail(job, out_of_memory_reason(rgb.shape[0] * rgb.shape[1]))
                continue
            for index, (job, rgb, _, pixels) in enumerate(group):
                writes.append((pixels, writer.submit(compose_and_write, job, rgb, ab[index])))
        pending.clear()
        while len(writes) > stage_photos:
            finish_oldest_write()

    try:
        while waiting or reads or pending:
            # Admit photos to the reader while its stage and the pixel budget allow.
            while waiting and len(reads) < stage_photos:
                peeked = peeked or next_waiting()
                if peeked is None:
                    continue
                job, encoded, pixels = peeked
                if held and held + pixels > pixels_in_flight:
                    break
                waiting.popleft()
                peeked = None
                held += pixels
                reads.append((job, pixels, reader.submit(decode, job, encoded)))
            if not reads:
                # The next photo does not fit beside those in flight: finish them first.
                if pending:
                    run_pending()
                elif writes:
                    finish_oldest_write()
                continue
            job, pixels, future = reads.popleft()
            try:
                rgb, l_norm = future.result()
            except inference.ImageReadError as error:
                held -= pixels
                run.fail(job, str(error).removeprefix(job.source + ": "))
                continue
            pending.setdefault(tuple(l_norm.shape), []).append((job, rgb, l_norm, pixels))
            if sum(len(group) for group in pending.values()) >= batch_size:
                run_pending()
        while writes:
            finish_oldest_write()
    finally:
        # On an error or Ctrl-C: no new reads or writes start; those under way finish
        # (writes are atomic, so no partial file remains).
        reader.shutdown(cancel_futures=True)
        writer.shutdown(cancel_futures=True)
        run.close()
    return run.report


def colorize_videos(
    jobs,
    colorizer,
    *,
    temporal=None,
    seed: int | None = None,
    crf: int | None = None,
    force: bool = False,
    progress: bool = True,
    max_pixels: int | None = inference.DEFAULT_MAX_PIXELS,
) -> BatchReport:
    """Colorize video jobs (:func:`plan_jobs`) one after another, by the rules of
    :class:`JobRun`: a video that cannot be read or written fails with its reason and
    the others go on. Arguments as :func:`kcolor.video.colorize_video`; ``progress``
    shows a bar in frames per video."""
    from kcolor import video  # PyAV and OpenCV load only when a video is colorized

    run = JobRun(len(jobs), force, progress=False)
    run.remove_stale_temporaries(jobs)
    settings = {"temporal": temporal or video.TemporalSettings(), "seed": seed}
    if crf is not None:
        settings["crf"] = crf
    for job in jobs:
        if run.skipped(job):
            continue
        (destination,) = job.outputs
        try:
            video.colorize_video(
                job.source, destination, colorizer, force=force, progress=progress,
                max_pixels=max_pixels, **settings,
            )  # fmt: skip
        except outputs.OutputExists:
            run.fail(
                job, f"{destination} appeared while it was written (pass --force to replace it)"
            )
        except KcolorError as error:  # unreadable, too large, cannot be encoded
            run.fail(job, str(error).removeprefix(job.source + ": "))
        except OUT_OF_MEMORY:
            run.fail(job, "not enough memory for its frames; the other files go on")
        except OSError as error:
            run.fail(job, f"cannot write {destination}: {error.strerror or error}")
        else:
            run.report.written.append(destination)
            run.done()
    return run.close()


def colorize_served(
    client,
    jobs,
    *,
    samples: int = 1,
    seed: int | None = None,
    batch_size: int = 4,
    fmt: str = "png",
    force: bool = False,
    progress: bool = True,
    max_pixels: int | None = inference.DEFAULT_MAX_PIXELS,
) -> BatchReport:
    """Colorize ``jobs`` (:func:`plan_jobs`) through a server, by the rules of
    :class:`JobRun`.

    Args:
        client: a :class:`~kcolor.deploy.serving.RestClient` or
            :class:`~kcolor.deploy.serving.GrpcClient`.
        samples: colourings per photo; more than 1 needs a GAN model. Sample ``k`` of a
            photo uses seed ``seed + k``.
        seed: the first seed (GAN); None picks one at random.
        batch_size: photos per request.
        fmt: "png" (the server's bytes, unchanged) or "jpg".
        force: replace existing outputs.
        progress: show a progress bar when there are several inputs.
        max_pixels: photos of more pixels are not sent (read from the header).
    """
    diverse = serving.SEED in client.signature_inputs()
    inference.check_samples(samples, diverse)
    first_seed = inference.choose_seed(seed, diverse)
    run = JobRun(len(jobs), force, progress)
    run.remove_stale_temporaries(jobs)
    pending = []

    def send(group):
        images = [encoded for _, encoded in group for _ in range(samples)]
        seeds = [first_seed + k for _ in group for k in range(samples)] if diverse else None
        try:
            results = client.colorize_each(images, seeds)
        except serving.ServingError as error:
            for job, _ in group:
                run.fail(job, str(error))
            return
        for index, (job, _) in enumerate(group):
            error = results[index * samples][1]
            if error:
                run.fail(job, f"the server did not colorize it: {error}")
                continue

            def write_each(k, path, replace, index=index):
                png = results[index * samples + k][0]
                if fmt == "png":
                    outputs.write_atomically(path, lambda handle: handle.write(png), replace)
                else:
                    rgb = np.asarray(Image.open(io.BytesIO(png)))
                    outputs.save_image(rgb, path, fmt, replace)

            if run.write(job, write_each):
                run.done()

    for job in jobs:
        if run.skipped(job):
            continue
        if is_video_job(job):
            run.fail(
                job, "a video is colorized on this computer (kcolor colorize), not by a server"
            )
            continue
        try:
            pending.append((job, serving.upright_bytes(job.source, max_pixels)))
        except inference.ImageReadError as error:
            run.fail(job, str(error).removeprefix(job.source + ": "))
            continue
        if len(pending) >= batch_size:
            send(pending)
            pending = []
    if pending:
        send(pending)
    return run.close()
