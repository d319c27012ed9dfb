"""Colorizing files through TF Serving, by the rules of :class:`~kcolor.jobs.run.JobRun`."""

import io

import numpy as np
from PIL import Image

from kcolor import inference, outputs
from kcolor.deploy import serving
from kcolor.jobs.planning import is_video_job
from kcolor.jobs.run import BatchReport, JobRun


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
    seeds = [first_seed + k for k in range(samples)] if diverse else None
    pending = []
    for job in jobs:
        encoded = _request_bytes(job, run, max_pixels)
        if encoded is not None:
            pending.append((job, encoded))
        if pending and (len(pending) >= batch_size or job is jobs[-1]):
            _send(client, pending, samples, seeds, run, fmt)
            pending = []
    return run.close()


def _request_bytes(job, run: JobRun, max_pixels) -> bytes | None:
    """The bytes a job's photo is sent as, or None after recording why it is not sent."""
    if run.skipped(job):
        return None
    if is_video_job(job):
        run.fail(job, "a video is colorized on this computer (kcolor colorize), not by a server")
        return None
    try:
        return inference.upright_bytes(job.source, max_pixels)
    except inference.ImageReadError as error:
        run.fail(job, str(error).removeprefix(job.source + ": "))
        return None


def _send(client, group, samples: int, seeds, run: JobRun, fmt: str) -> None:
    """One request for ``group`` (``[(job, bytes)]``), ``samples`` colourings of each
    photo (colouring ``k`` from ``seeds[k]``; None for a model without noise); writes the
    outputs, or records each photo's failure."""
    images = [encoded for _, encoded in group for _ in range(samples)]
    try:
        results = client.colorize_each(images, seeds and seeds * len(group))
    except serving.ServingError as error:
        for job, _ in group:
            run.fail(job, str(error))
        return
    for index, (job, _) in enumerate(group):
        error = results[index * samples][1]
        if error:
            run.fail(job, f"the server did not colorize it: {error}")
            continue
        pngs = [png for png, _ in results[index * samples : (index + 1) * samples]]
        if run.write(job, lambda k, path, replace, pngs=pngs: _write(pngs[k], path, fmt, replace)):
            run.done()


def _write(png: bytes, path: str, fmt: str, replace: bool) -> None:
    """The server's PNG as it is, or re-encoded as ``fmt``."""
    if fmt == "png":
        outputs.write_atomically(path, lambda handle: handle.write(png), replace)
    else:
        outputs.save_image(np.asarray(Image.open(io.BytesIO(png))), path, fmt, replace)
