"""Colorizing many files: what ``kcolor colorize`` runs.

Files are read and colorized in batches of the same processing size, every failure is
recorded with its file and reason while the rest go on, and no existing output is
replaced unless asked.

kcolor.jobs.planning  which outputs each input gets (:func:`plan_jobs`).
kcolor.jobs.run       the rules every run keeps and its report (:class:`JobRun`).
kcolor.jobs.photos    photos through a read / network / write pipeline.
kcolor.jobs.videos    videos, one after another.
kcolor.jobs.served    photos through TF Serving.
kcolor.jobs.mixed     photos and videos of one run together.
"""

from kcolor.jobs.mixed import colorize_jobs
from kcolor.jobs.photos import PIXELS_IN_FLIGHT, PhotoPipeline, colorize_files
from kcolor.jobs.planning import Job, is_video_job, plan_jobs
from kcolor.jobs.run import BatchReport, JobRun, one_line
from kcolor.jobs.served import colorize_served
from kcolor.jobs.videos import colorize_videos

__all__ = [
    "PIXELS_IN_FLIGHT",
    "BatchReport",
    "Job",
    "JobRun",
    "PhotoPipeline",
    "colorize_files",
    "colorize_jobs",
    "colorize_served",
    "colorize_videos",
    "is_video_job",
    "one_line",
    "plan_jobs",
]
