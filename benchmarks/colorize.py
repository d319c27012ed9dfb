"""``kcolor colorize`` speed and memory: the whole file-to-file path against the model
alone on the same images, and the peak memory of a 24-megapixel photo.

The model is the full-size HypercolumnColorizer (HED trunk, untrained head: speed and
memory do not depend on what the head has learned), at the default processing size 256.
"""

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BSDS_VAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bsds500" / "val"

_PEAK_RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from kcolor import inference, outputs
    from kcolor.models import HypercolumnColorizer

    height, width, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    colorizer = inference.Colorizer(HypercolumnColorizer(trunk_weights=None), size)
    warm = np.zeros((64, 64, 3), np.uint8)
    inference.colorize_rgb(warm, colorizer)  # tracing, allocator warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    photo = np.broadcast_to(rows, (height, width, 3)).astype(np.uint8)
    result = inference.colorize_rgb(photo, colorizer)[0]
    outputs.save_image(result, sys.argv[4], "png")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(before, after)
    """
)


def _photos(args, scratch: Path) -> tuple[list[str], str]:
    from kcolor import sources
    from kcolor.outputs import save_image

    count = 8 if args.quick else 100
    if BSDS_VAL.is_dir():
        return list(sources.resolve_source(BSDS_VAL).images[:count]), f"{count} BSDS500 val photos"
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
    from kcolor import batch, inference, outputs
    from kcolor.models import HypercolumnColorizer

    colorizer = inference.Colorizer(HypercolumnColorizer(trunk_weights="hed", seed=0), 256)
    with tempfile.TemporaryDirectory() as scratch:
        paths, origin = _photos(args, Path(scratch))
        jobs, _ = outputs.plan_jobs(paths, Path(scratch) / "out")
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
            "work": f"kcolor colorize, {origin}, hypercolumn model, size 256, PNG out; "
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
    """Peak RSS colorizing a 6000x4000 photo, against the process before the photo."""
    height, width = (600, 400) if args.quick else (4000, 6000)
    with tempfile.TemporaryDirectory() as scratch:
        out = str(Path(scratch) / "big.png")
        result = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_SCRIPT, str(height), str(width), "256", out],
            capture_output=True,
            text=True,
            check=True,
        )
    before_kb, after_kb = map(int, result.stdout.split()[-2:])
    megapixels = height * width / 1e6
    plane_mb = height * width * 4 / 1e6
    growth_mb = (after_kb - before_kb) / 1024
    return [
        {
            "name": "colorize-memory",
            "work": f"colorize one {width}x{height} ({megapixels:.0f} MP) photo; one float32 "
            f"plane at that size is {plane_mb:.0f} MB",
            "kcolor": f"peak RSS {after_kb / 1024:.0f} MB (+{growth_mb:.0f} MB for the photo)",
            "baseline": f"{before_kb / 1024:.0f} MB after loading the model and a small photo",
            "ratio": growth_mb / plane_mb,
            "peak_rss_mb": after_kb / 1024,
            "before_rss_mb": before_kb / 1024,
            "growth_in_float_planes": growth_mb / plane_mb,
        }
    ]
