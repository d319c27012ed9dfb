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
            pending.append((job, inference.upright_bytes(job.source, max_pixels)))
        except inference.ImageReadError as error:
            run.fail(job, str(error).removeprefix(job.source + ": "))
            continue
        if len(pending) >= batch_size:
            send(pending)
            pending = []
    if pending:
        send(pending)
    return run.close()
