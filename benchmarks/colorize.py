"""``kcolor colorize`` speed and memory: the whole file-to-file path against the model
alone on the same images, and the peak memory of a 100-megapixel photo.

The model is the full-size HypercolumnColorizer (HED trunk, untrained head: speed and
memory do not depend on what the head has learned), at the default processing size 256
(``--quick``: a narrow trunk with random weights at size 64, to check the path runs).
"""

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.photos import photo_set

_PEAK_RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from kcolor import inference, outputs
    from kcolor import jobs as batch
    from kcolor.models import HypercolumnColorizer

    photo, small, out, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "quick"
    model = HypercolumnColorizer(trunk_widths=[8, 16, 32, 64, 64] if quick else None)
    colorizer = inference.Colorizer(model, 64 if quick else 256)
    warm, _ = batch.plan_jobs([small], out)
    batch.colorize_files(warm, colorizer, progress=False)  # tracing, allocator warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    jobs, _ = batch.plan_jobs([photo], out)
    report = batch.colorize_files(jobs, colorizer, progress=False)
    assert len(report.written) == 1, report.failed
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(before, after)
    """
)


def _photos(args, scratch: Path) -> tuple[list[str], str]:
    from kcolor.data import sources
    from kcolor.outputs import save_image

    count = 8 if args.quick else 100
    bsds_val = photo_set("bsds500", "val")
    if bsds_val:
        return list(sources.resolve_source(bsds_val).images[:count]), f"{count} BSDS500 val photos"
    import numpy as np

    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        pixels = (rng.uniform(size=(321, 481, 3)) * 255).astype(np.uint8)
        paths.append(str(scratch / f"{index}.jpg"))
        save_image(pixels, paths[-1], "jpg")
    return paths, f"{count} synthetic 481x321 JPEGs"


def bench_colorize(args) -> list[dict]:
    """End-to-end colorize images/s against model-only time on the same images."""
    from kcolor import inference
    from kcolor import jobs as batch
    from kcolor.models import HypercolumnColorizer

    if args.quick:
        model = HypercolumnColorizer(trunk_widths=[8, 16, 32, 64, 64], seed=0)
    else:
        model = HypercolumnColorizer(seed=0)
        model.load_trunk_weights("hed")
    size = 64 if args.quick else 256
    colorizer = inference.Colorizer(model, size)
    with tempfile.TemporaryDirectory() as scratch:
        paths, origin = _photos(args, Path(scratch))
        jobs, _ = batch.plan_jobs(paths, Path(scratch) / "out")
        model_inputs = [colorizer.model_input(inference.read_image(path)) for path in paths]
        colorizer.predict_ab(model_inputs[0])  # tracing, not throughput

        start = time.perf_counter()
        for l_norm in model_inputs:
            colorizer.predict_ab(l_norm).numpy()
        model_seconds = time.perf_counter() - start

        start = time.perf_counter()
        report = batch.colorize_files(jobs, colorizer, progress=False)
        total_seconds = time.perf_counter() - start
    assert len(report.written) == len(paths), report.failed
    overhead = (total_seconds - model_seconds) / total_seconds
    return [
        {
            "name": "colorize",
            "work": f"kcolor colorize, {origin}, hypercolumn model, size {size}, PNG out; "
            f"reading, resizing, full-size compose and writing: {overhead:.0%} of the time",
            "kcolor": f"{len(paths) / total_seconds:.2f} images/s end to end",
            "baseline": f"{len(paths) / model_seconds:.2f} images/s, the model alone",
            "ratio": model_seconds / total_seconds,
            "end_to_end_seconds": total_seconds,
            "model_seconds": model_seconds,
            "overhead_fraction": overhead,
        }
    ]


def bench_peak_memory(args) -> list[dict]:
    """Peak RSS of ``kcolor colorize``'s path (a JPEG file in, a PNG file out) on a
    100-megapixel photo, against the process after a small photo."""
    import numpy as np
    from PIL import Image

    height, width = (1000, 1000) if args.quick else (10000, 10000)
    with tempfile.TemporaryDirectory() as scratch:
        photo, small = Path(scratch) / "big.jpg", Path(scratch) / "small.jpg"
        rows = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
        columns = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
        pixels = np.empty((height, width, 3), np.uint8)
        for channel, weight in enumerate((0.9, 0.5, 0.2)):
            pixels[..., channel] = (rows * weight + columns * (1 - weight))[..., 0]
        Image.fromarray(pixels).save(photo, quality=90)
        Image.fromarray(pixels[:300, :400]).save(small, quality=90)
        del pixels
        result = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_SCRIPT, str(photo), str(small), scratch + "/out"]
            + ["quick" if args.quick else "full"],
            capture_output=True,
            text=True,
            check=True,
        )
    before_kb, after_kb = map(int, result.stdout.split()[-2:])
    pixels_count = height * width
    growth_mb = (after_kb - before_kb) / 1024
    return [
        {
            "name": "colorize-memory",
            "work": f"kcolor colorize's path on one {width}x{height} "
            f"({pixels_count / 1e6:.0f} MP) JPEG, written as PNG, in a fresh process",
            "kcolor": f"peak RSS {after_kb / 1024:.0f} MB "
            f"({after_kb * 1024 / pixels_count:.1f} bytes per pixel)",
            "baseline": f"{before_kb / 1024:.0f} MB after loading the model and a small photo",
            "ratio": growth_mb * 2**20 / pixels_count,
            "peak_rss_mb": after_kb / 1024,
            "before_rss_mb": before_kb / 1024,
            "bytes_per_pixel_peak": after_kb * 1024 / pixels_count,
            "bytes_per_pixel_growth": growth_mb * 2**20 / pixels_count,
        }
    ]
