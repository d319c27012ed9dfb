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

# Pixels held by the pipeline's stages together (a 30-megapixel photo needs about
# 0.6 GB on the way through; see docs/results.md for the peak per pixel).
PIXELS_IN_FLIGHT = 30_000_000


@dataclasses.dataclass
class BatchReport:
    """What a run did: outputs written, inputs skipped, and failures with reasons."""

    written: list[str] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _report(kind: str, name: str, reason: str) -> None:
    tqdm.write(f"{kind} {name}: {reason}", file=sys.stderr)


def write_job(job, write_each, report: BatchReport, force: bool) -> None:
    """Write a job's outputs with ``write_each(k, path, replace)`` (colouring ``k``); a
    write that fails is the job's failure, with the reason, and the batch goes on."""
    for k, path in enumerate(job.outputs):
        try:
            write_each(k, path, force)
        except outputs.OutputExists:
            reason = f"{path} appeared while it was written (pass --force to replace it)"
        except OSError as error:
            reason = f"cannot write {path}: {error.strerror or error}"
        else:
            report.written.append(path)
            continue
        report.failed.append((job.source, reason))
        _report("failed", job.source, reason)
        return


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
    """Colorize every job's input into its outputs (see :func:`kcolor.outputs.plan_jobs`).

    Args:
        jobs: ``outputs.Job`` items.
        colorizer: the model and processing size (``model_input`` and ``predict_ab``,
            as :func:`kcolor.inference.make_colorizer` gives).
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
    report = BatchReport()
    bar = tqdm(total=len(jobs), unit="img", disable=not progress or len(jobs) < 2)
    stage_photos = max(2, batch_size)
    waiting = collections.deque(jobs)
    peeked = None  # (job, encoded, pixels) of waiting[0], read but not yet admitted
    reads = collections.deque()  # (job, pixels, future of (rgb, l_norm)), in job order
    pending = {}  # processing shape -> [(job, rgb, l_norm, pixels)]
    writes = collections.deque()  # (pixels, future)
    held = 0  # pixels admitted and not yet written
    reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kcolor-read")
    writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kcolor-write")

    def fail(job, reason):
        report.failed.append((job.source, reason))
        _report("failed", job.source, reason)
        bar.update(1)

    def next_waiting():
        """The next job's photo bytes and declared pixels, or None after reporting a job
        that is skipped or cannot be read."""
        job = waiting[0]
        existing = [path for path in job.outputs if os.path.exists(path)]
        if existing and not force:
            waiting.popleft()
            reason = f"{existing[0]} exists (pass --force to replace it)"
            report.skipped.append((job.source, reason))
            _report("skipped", job.source, reason)
            bar.update(1)
            return None
        try:
            encoded = inference.read_file(job.source)
        except inference.ImageReadError as error:
            waiting.popleft()
            fail(job, str(error).removeprefix(job.source + ": "))
            return None
        return job, encoded, _declared_pixels(encoded)

    def decode(job, encoded):
        rgb = inference.decode_photo(job.source, encoded, max_pixels)
        return rgb, colorizer.model_input(rgb)

    def compose_and_write(job, rgb, ab):
        write_job(
            job,
            lambda k, path, replace: outputs.save_image(
                inference.compose(rgb, ab[k]), path, fmt, replace
            ),
            report,
            force,
        )

    def finish_oldest_write():
        nonlocal held
        pixels, future = writes.popleft()
        future.result()
        held -= pixels
        bar.update(1)

    def run_pending():
        for group in pending.values():
            l_norm = tf.concat([entry[2] for entry in group], axis=0)
            ab = np.asarray(colorizer.predict_ab(l_norm, samples, seed))
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
                fail(job, str(error).removeprefix(job.source + ": "))
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
        bar.close()
    return report
