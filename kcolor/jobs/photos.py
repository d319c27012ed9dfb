"""Colorizing photo jobs: a pipeline of three stages, so that reading and decoding the next
photos, and composing, encoding and writing the finished ones, overlap with the network.

A reader thread decodes, the network runs on the calling thread, a writer thread
composes and writes. Each stage holds at most ``max(2, batch_size)`` photos, and all
stages together at most :data:`PIXELS_IN_FLIGHT` pixels, except that a photo larger than
that is admitted alone, once the photos before it are written; so a folder of huge photos
needs the memory of one at a time, as an unpipelined loop would.
"""

import collections
import concurrent.futures
import io
import warnings

import numpy as np
import tensorflow as tf
from PIL import Image

from kcolor import inference, outputs
from kcolor.jobs.run import OUT_OF_MEMORY, BatchReport, JobRun, out_of_memory_reason

# Pixels held by the pipeline's stages together (a 30-megapixel photo needs about
# 0.6 GB on the way through; see docs/results.md for the peak per pixel).
PIXELS_IN_FLIGHT = 30_000_000


def declared_pixels(encoded: bytes) -> int:
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


class PhotoPipeline:
    """The stages of one run over photo jobs; :meth:`run` drives them.

    Args:
        colorizer: a :class:`kcolor.inference.BaseColorizer`.
        run: the run's rules and report.
        samples, seed: colourings per photo and the first seed (see
            :meth:`~kcolor.inference.BaseColorizer.predict_ab`).
        batch_size: photos run through the network together, when they share a
            processing size.
        fmt: "png" or "jpg".
        max_pixels: refuse photos of more pixels (read from the header); None: no limit.
        pixels_in_flight: pixels the stages hold at once.
    """

    def __init__(
        self, colorizer, run: JobRun, *, samples=1, seed=None, batch_size=1, fmt="png",
        max_pixels=inference.DEFAULT_MAX_PIXELS, pixels_in_flight=PIXELS_IN_FLIGHT,
    ):  # fmt: skip
        self.colorizer = colorizer
        self.run_rules = run
        self.samples, self.seed, self.batch_size, self.fmt = samples, seed, batch_size, fmt
        self.max_pixels = max_pixels
        self.pixels_in_flight = pixels_in_flight
        self.stage_photos = max(2, batch_size)
        self.waiting = collections.deque()
        self.peeked = None  # (job, encoded, pixels) of waiting[0], read but not admitted
        self.reads = collections.deque()  # (job, pixels, future of (rgb, l_norm)), in order
        self.pending = {}  # processing shape -> [(job, rgb, l_norm, pixels)]
        self.writes = collections.deque()  # (pixels, future of "written")
        self.held = 0  # pixels admitted and not yet written
        self.reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kcolor-read")
        self.writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kcolor-write")

    def run(self, jobs) -> None:
        """Colorize ``jobs``; every outcome goes to the run's report."""
        self.waiting.extend(jobs)
        try:
            while self.waiting or self.reads or self.pending:
                self.admit()
                if self.reads:
                    self.take_decoded()
                elif self.pending:  # the next photo does not fit beside those in flight
                    self.run_network()
                elif self.writes:
                    self.finish_oldest_write()
            while self.writes:
                self.finish_oldest_write()
        finally:
            # On an error or Ctrl-C: no new reads or writes start; those under way finish
            # (writes are atomic, so no partial file remains).
            self.reader.shutdown(cancel_futures=True)
            self.writer.shutdown(cancel_futures=True)

    # --- reading ----------------------------------------------------------------------

    def admit(self) -> None:
        """Hand waiting photos to the reader while its stage and the pixel budget allow
        (a photo over the budget goes alone, once nothing else is held)."""
        while self.waiting and len(self.reads) < self.stage_photos:
            self.peeked = self.peeked or self.peek()
            if self.peeked is None:
                continue
            job, encoded, pixels = self.peeked
            if self.held and self.held + pixels > self.pixels_in_flight:
                return
            self.waiting.popleft()
            self.peeked = None
            self.held += pixels
            self.reads.append((job, pixels, self.reader.submit(self.decode, job, encoded)))

    def peek(self):
        """The next job's ``(job, bytes, declared pixels)``, or None after reporting a job
        that is skipped or cannot be read (it leaves the queue)."""
        job = self.waiting[0]
        if self.run_rules.skipped(job):
            self.waiting.popleft()
            return None
        try:
            encoded = inference.read_file(job.source)
        except inference.ImageReadError as error:
            self.waiting.popleft()
            self.run_rules.fail(job, str(error).removeprefix(job.source + ": "))
            return None
        return job, encoded, declared_pixels(encoded)

    def decode(self, job, encoded):
        """Reader thread: ``(rgb, l_norm)`` of a photo's bytes.

        Raises:
            ImageReadError: undecodable, over the pixel limit, or out of memory.
        """
        try:
            rgb = inference.decode_photo(job.source, encoded, self.max_pixels)
            return rgb, self.colorizer.model_input(rgb)
        except OUT_OF_MEMORY as error:
            raise inference.ImageReadError(
                f"{job.source}: {out_of_memory_reason(declared_pixels(encoded))}"
            ) from error

    def take_decoded(self) -> None:
        """Wait for the oldest read; group it by processing shape, and run the network
        once ``batch_size`` photos are waiting for it."""
        job, pixels, future = self.reads.popleft()
        try:
            rgb, l_norm = future.result()
        except inference.ImageReadError as error:
            self.held -= pixels
            self.run_rules.fail(job, str(error).removeprefix(job.source + ": "))
            return
        self.pending.setdefault(tuple(l_norm.shape), []).append((job, rgb, l_norm, pixels))
        if sum(len(group) for group in self.pending.values()) >= self.batch_size:
            self.run_network()

    # --- the network ------------------------------------------------------------------

    def run_network(self) -> None:
        """Colour every pending group (one network call per processing shape) and hand
        the photos to the writer; wait for writes beyond the writer's stage."""
        for group in self.pending.values():
            l_norm = tf.concat([entry[2] for entry in group], axis=0)
            try:
                ab = np.asarray(self.colorizer.predict_ab(l_norm, self.samples, self.seed))
            except OUT_OF_MEMORY:
                for job, rgb, _, pixels in group:
                    self.held -= pixels
                    self.run_rules.fail(job, out_of_memory_reason(rgb.shape[0] * rgb.shape[1]))
                continue
            for index, (job, rgb, _, pixels) in enumerate(group):
                future = self.writer.submit(self.compose_and_write, job, rgb, ab[index])
                self.writes.append((pixels, future))
        self.pending.clear()
        while len(self.writes) > self.stage_photos:
            self.finish_oldest_write()

    # --- writing ----------------------------------------------------------------------

    def compose_and_write(self, job, rgb, ab) -> bool:
        """Writer thread: each colouring ``ab[k]`` joined with the photo's full-size
        lightness, written to the job's output ``k``; whether all were written."""
        try:
            return self.run_rules.write(
                job,
                lambda k, path, replace: outputs.save_image(
                    inference.compose(rgb, ab[k]), path, self.fmt, replace
                ),
            )
        except OUT_OF_MEMORY:
            self.run_rules.fail(job, out_of_memory_reason(rgb.shape[0] * rgb.shape[1]))
            return False

    def finish_oldest_write(self) -> None:
        pixels, future = self.writes.popleft()
        if future.result():
            self.run_rules.done()
        self.held -= pixels


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
        colorizer: a :class:`kcolor.inference.BaseColorizer` (as
            :func:`kcolor.make_colorizer` gives).
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
    pipeline = PhotoPipeline(
        colorizer, run, samples=samples, seed=seed, batch_size=batch_size, fmt=fmt,
        max_pixels=max_pixels, pixels_in_flight=pixels_in_flight,
    )  # fmt: skip
    try:
        pipeline.run(jobs)
    finally:
        run.close()
    return run.report
