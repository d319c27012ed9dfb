"""Photos and videos of one run together: what ``kcolor colorize`` and the web page run."""

from kcolor import inference
from kcolor.jobs.photos import colorize_files
from kcolor.jobs.planning import is_video_job
from kcolor.jobs.run import BatchReport
from kcolor.jobs.videos import colorize_videos


def colorize_jobs(
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
    temporal=None,
    crf: int | None = None,
) -> BatchReport:
    """Colorize the photo jobs through the photo pipeline, then the video jobs one after
    another, by the same rules; one report for both. Arguments as
    :func:`~kcolor.jobs.photos.colorize_files` (photos) and
    :func:`~kcolor.jobs.videos.colorize_videos` (``temporal``, ``crf``: videos)."""
    videos = [job for job in jobs if is_video_job(job)]
    photos = [job for job in jobs if not is_video_job(job)]
    report = colorize_files(
        photos, colorizer, samples=samples, seed=seed, batch_size=batch_size, fmt=fmt,
        force=force, progress=progress, max_pixels=max_pixels,
    )  # fmt: skip
    if videos:
        report.extend(
            colorize_videos(
                videos,
                colorizer,
                temporal=temporal,
                seed=seed,
                crf=crf,
                force=force,
                progress=progress,
                max_pixels=max_pixels,
            )  # fmt: skip
        )
    return report
