"""Colorizing video jobs one after another, by the rules of :class:`~kcolor.jobs.run.JobRun`."""

from kcolor import inference, outputs
from kcolor.errors import KcolorError
from kcolor.jobs.run import OUT_OF_MEMORY, BatchReport, JobRun


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
