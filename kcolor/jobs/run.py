"""The rules every colorizing run keeps (:class:`JobRun`) and what it reports
(:class:`BatchReport`)."""

import dataclasses
import os
import sys

import tensorflow as tf
from tqdm import tqdm

from kcolor import outputs
from kcolor.jobs.planning import Job


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
