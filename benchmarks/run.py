"""Benchmarks, each measured against its baseline in the same run.

Usage:
    python -m benchmarks.run [NAME ...] [--json FILE] [--data DIR] [--quick]

Names: color, pipeline, gan-train, gan-generator, hc-train, hc-head, hc-inference,
trunks, colorize, colorize-memory, train, export, precision, colorize-speed, serving, png,
video, video-memory (default: all). Prints a table and optionally writes JSON.
The ratio column is kcolor's speed over the baseline's: a speed-up, or for rows measured
against the convolution peak (gan-train, gan-generator, hc-inference) the fraction of
that peak reached; for colorize-memory, the photo's added memory in bytes per pixel; for
video-memory, a long video's peak memory over a short one's.
"""

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.colorize import bench_colorize, bench_peak_memory
from benchmarks.export import bench_export
from benchmarks.gan import bench_gan_generator, bench_gan_training
from benchmarks.hypercolumn import (
    bench_hypercolumn_head,
    bench_hypercolumn_inference,
    bench_hypercolumn_training,
)
from benchmarks.photos import photo_set, synthetic_jpegs
from benchmarks.speed import bench_colorize_speed, bench_png, bench_precision, bench_serving
from benchmarks.timing import median_seconds
from benchmarks.training import bench_training
from benchmarks.trunks import bench_trunks
from benchmarks.video import bench_video, bench_video_memory


def bench_color(args) -> list[dict]:
    """rgb_to_lab on a batch (TensorFlow graph) vs skimage.color.rgb2lab image by image."""
    import skimage.color
    import tensorflow as tf

    from kcolor import color

    batch, side = (4, 64) if args.quick else (32, 256)
    rgb = np.random.default_rng(0).uniform(size=(batch, side, side, 3)).astype(np.float32)
    tensor = tf.constant(rgb)
    repeats = 2 if args.quick else 5
    baseline = median_seconds(lambda: [skimage.color.rgb2lab(image) for image in rgb], repeats)
    rows = []
    for name, jit_compile in (("color", False), ("color-xla", True)):
        to_lab = tf.function(color.rgb_to_lab, jit_compile=jit_compile)
        ours = median_seconds(lambda: to_lab(tensor).numpy(), repeats)  # noqa: B023
        compiled = "XLA-compiled tf.function" if jit_compile else "tf.function graph"
        rows.append(
            {
                "name": name,
                "work": f"rgb_to_lab, {batch}x{side}x{side} float32, {compiled}",
                "kcolor": f"{ours * 1000:.1f} ms",
                "baseline": f"{baseline * 1000:.1f} ms (skimage.color.rgb2lab per image)",
                "ratio": baseline / ours,
                "kcolor_seconds": ours,
                "baseline_seconds": baseline,
            }
        )
    return rows


def _images_per_second(epoch) -> float:
    start = time.perf_counter()
    produced = epoch()
    return produced / (time.perf_counter() - start)


def _plain_loop_epoch(paths, size: int, batch_size: int, seed: int) -> int:
    """The same work as the pipeline, the way a hand-written Python loop does it."""
    import skimage.color
    from PIL import Image

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    batch, produced = [], 0
    for index in order:
        with Image.open(paths[index]) as image:
            rgb = image.convert("RGB")
        width, height = rgb.size
        area = rng.uniform(0.25, 1.0) * width * height
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        crop_w = int(min(width, round(np.sqrt(area * aspect))))
        crop_h = int(min(height, round(np.sqrt(area / aspect))))
        left = rng.integers(0, width - crop_w + 1)
        top = rng.integers(0, height - crop_h + 1)
        crop = rgb.crop((left, top, left + crop_w, top + crop_h)).resize((size, size))
        if rng.uniform() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        lab = skimage.color.rgb2lab(np.asarray(crop, np.float32) / 255.0)
        if np.hypot(lab[..., 1], lab[..., 2]).mean() < 0.5:
            continue  # the grayscale check the pipeline makes
        batch.append((lab[..., :1] / 50 - 1, lab[..., 1:] / 110))
        if len(batch) == batch_size:
            l_batch = np.stack([pair[0] for pair in batch]).astype(np.float32)
            ab_batch = np.stack([pair[1] for pair in batch]).astype(np.float32)
            produced += min(len(l_batch), len(ab_batch))
            batch = []
    return produced


def bench_pipeline(args) -> list[dict]:
    """lab_dataset images/s (128x128 training crops) vs a plain PIL + skimage loop."""
    from kcolor import data
    from kcolor.data import sources

    count = 64 if args.quick else 1024
    size, batch_size = 128, 32
    with tempfile.TemporaryDirectory() as scratch:
        if args.data and Path(args.data).is_dir():
            everything = sources.resolve_source(args.data).images
            picks = np.random.default_rng(0).choice(len(everything), count, replace=False)
            paths = [everything[i] for i in sorted(picks)]
            origin = f"{count} photos from {args.data}"
        else:
            paths = synthetic_jpegs(Path(scratch), count)
            origin = f"{count} synthetic 224x224 JPEGs"
        dataset = data.lab_dataset(paths, size, batch_size, training=True, seed=0)
        batches = iter(dataset.repeat())
        start = time.perf_counter()
        next(batches)
        first_batch = time.perf_counter() - start
        for _ in range(3):
            next(batches)  # let tf.data's autotuner settle

        # Steady state over several epochs in one iterator, so the cost of starting an
        # iterator (reported on its own) does not count against throughput.
        epochs = 1 if args.quick else 3
        steps = epochs * len(paths) // batch_size

        def pipeline_images():
            return sum(int(next(batches)[0].shape[0]) for _ in range(steps))

        def loop_images(repeat):
            return sum(
                _plain_loop_epoch(paths, size, batch_size, seed=repeat * epochs + epoch)
                for epoch in range(epochs)
            )

        # Alternate the two so that a slow spell of the machine hits both.
        ours, baseline = [], []
        for repeat in range(1 if args.quick else 3):
            ours.append(_images_per_second(pipeline_images))
            baseline.append(_images_per_second(functools.partial(loop_images, repeat)))
        ours, baseline = statistics.median(ours), statistics.median(baseline)
    return [
        {
            "name": "pipeline",
            "work": f"{origin} -> {size}x{size} Lab crops, batch {batch_size}, "
            f"{epochs} epochs in one iterator",
            "kcolor": f"{ours:.0f} images/s (first batch after {first_batch:.2f} s)",
            "baseline": f"{baseline:.0f} images/s (PIL + skimage loop)",
            "ratio": ours / baseline,
            "kcolor_images_per_second": ours,
            "baseline_images_per_second": baseline,
            "kcolor_first_batch_seconds": first_batch,
        }
    ]


BENCHMARKS = {
    "color": bench_color,
    "pipeline": bench_pipeline,
    "gan-train": bench_gan_training,
    "gan-generator": bench_gan_generator,
    "hc-train": bench_hypercolumn_training,
    "hc-head": bench_hypercolumn_head,
    "hc-inference": bench_hypercolumn_inference,
    "trunks": bench_trunks,
    "colorize": bench_colorize,
    "colorize-memory": bench_peak_memory,
    "train": bench_training,
    "export": bench_export,
    "precision": bench_precision,
    "colorize-speed": bench_colorize_speed,
    "serving": bench_serving,
    "png": bench_png,
    "video": bench_video,
    "video-memory": bench_video_memory,
}


def _print_table(rows) -> None:
    headers = ("benchmark", "work", "kcolor", "baseline", "ratio")
    cells = [headers] + [
        (r["name"], r["work"], r["kcolor"], r["baseline"], f"{r['ratio']:.2f}") for r in rows
    ]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            " | ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=False))
        )
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument(
        "--data",
        default=photo_set("imagenette"),
        help="photo folder for the pipeline benchmark (default: $KCOLOR_PHOTOS/imagenette "
        "when present, otherwise synthetic JPEGs)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    import tensorflow as tf

    rows = [row for name in (args.names or BENCHMARKS) for row in BENCHMARKS[name](args)]
    _print_table(rows)
    if args.json:
        report = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "tensorflow": tf.__version__,
            },
            "quick": args.quick,
            "results": rows,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
