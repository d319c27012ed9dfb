"""Colorizing many files: what ``kcolor colorize`` runs.

Files are read and colorized in batches of the same processing size, every failure is
recorded with its file and reason while the rest go on, and no existing output is
replaced unless asked.
"""

import dataclasses
import os
import sys

import tensorflow as tf
from tqdm import tqdm

from kcolor import inference, outputs


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


def colorize_files(
    jobs,
    colorizer: inference.Colorizer,
    *,
    samples: int = 1,
    seed: int | None = None,
    batch_size: int = 1,
    fmt: str = "png",
    force: bool = False,
    progress: bool = True,
    max_pixels: int | None = inference.DEFAULT_MAX_PIXELS,
) -> BatchReport:
    """Colorize every job's input into its outputs (see :func:`kcolor.outputs.plan_jobs`).

    Args:
        jobs: ``outputs.Job`` items.
        colorizer: the model and processing size.
        samples: colourings per image (more than 1 needs the GAN).
        seed: makes the GAN's colourings repeatable.
        batch_size: photos held at once; those sharing a processing size run through
            the model together.
        fmt: "png" or "jpg".
        force: replace existing outputs; otherwise inputs whose outputs exist are skipped.
        progress: show a progress bar when there are several inputs.
        max_pixels: refuse photos of more pixels (read from the header); None: no limit.
    """
    report = BatchReport()
    pending = {}  # processing shape -> [(job, rgb, l_norm)]
    bar = tqdm(total=len(jobs), unit="img", disable=not progress or len(jobs) < 2)

    def run(group):
        l_norm = tf.concat([entry[2] for entry in group], axis=0)
        ab = colorizer.predict_ab(l_norm, samples, seed)
        for index, (job, rgb, _) in enumerate(group):
            write_job(
                job,
                lambda k, path, replace, index=index, rgb=rgb: outputs.save_image(
                    inference.compose(rgb, ab[index, k]), path, fmt, replace
                ),
                report,
                force,
            )
            bar.update(1)

    try:
        for job in jobs:
            existing = [path for path in job.outputs if os.path.exists(path)]
            if existing and not force:
                reason = f"{existing[0]} exists (pass --force to replace it)"
                report.skipped.append((job.source, reason))
                _report("skipped", job.source, reason)
                bar.update(1)
                continue
            try:
                rgb = inference.read_image(job.source, max_pixels)
            except inference.ImageReadError as error:
                report.failed.append((job.source, str(error).removeprefix(job.source + ": ")))
                _report("failed", job.source, report.failed[-1][1])
                bar.update(1)
                continue
            l_norm = colorizer.model_input(rgb)
            pending.setdefault(tuple(l_norm.shape), []).append((job, rgb, l_norm))
            # At most batch_size photos are held: when that many wait, all groups run.
            if sum(len(group) for group in pending.values()) >= batch_size:
                for group in pending.values():
                    run(group)
                pending.clear()
        for group in pending.values():
            run(group)
    finally:
        bar.close()
    return report
