"""Deployment speed at 256x256: Keras ``predict``, the exported SavedModel signature, and
the four TFLite variants, each with the quality it keeps.

One run, one image at a time, on the bundled default model (quick: a small untrained
GAN generator at a small size, to check the path runs). Keras ``predict`` and the TFLite
models compute the network alone (lightness in, ab out); the SavedModel's
``colorize_lightness`` signature also converts the result to RGB, as a server does.
TFLite runs with ai-edge-litert, 2 threads, XNNPACK. Quality: ab RMSE and PSNR of each
TFLite variant against the Keras model on photos (BSDS500 val when present, else
synthetic photos).
"""

import tempfile
from pathlib import Path

import numpy as np

from benchmarks.photos import photo_set
from benchmarks.timing import median_seconds


def _photos(count: int, scratch: Path) -> tuple[list[str], str]:
    from kcolor import outputs
    from kcolor.data import sources

    bsds_val = photo_set("bsds500", "val")
    if bsds_val:
        return list(sources.resolve_source(bsds_val).images[:count]), "BSDS500 val"
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        ys, xs = np.mgrid[0:240, 0:320] / 320.0
        phases = rng.uniform(0, 6, 3)
        rgb = np.stack([0.5 + 0.4 * np.sin(5 * xs + 3 * ys + p) for p in phases], -1)
        paths.append(str(scratch / f"{index}.jpg"))
        outputs.save_image((rgb * 255).astype(np.uint8), paths[-1], "jpg")
    return paths, "synthetic photos"


def bench_export(args) -> list[dict]:
    import tensorflow as tf

    from kcolor import color
    from kcolor.deploy import export, tflite
    from kcolor.models import presets as bundled

    name, side = ("gan", 64) if args.quick else ("hypercolumn", 256)
    repeats = 3 if args.quick else 20
    if args.quick:
        from kcolor.models import DiverseColorGenerator

        model = DiverseColorGenerator(filters=[16, 16], kernel_sizes=[3, 3, 3], noise_layers=2)
        model.predict_ab(np.zeros((1, side, side, 1), "float32"), np.zeros((1, 8), "float32"))
    else:
        model = bundled.load(name)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        photos, origin = _photos(4 if args.quick else 100, scratch)
        calibration, compared = photos[: len(photos) // 2], photos[len(photos) // 2 :]
        rng = np.random.default_rng(0)
        lightness = tf.constant(rng.uniform(0, 100, (1, side, side, 1)), tf.float32)
        l_norm = color.normalize_l(lightness)

        if name == "gan":
            noise = tf.zeros((1, side, side, model.noise_channels))
            keras_inputs = [l_norm, noise]
        else:
            keras_inputs = l_norm
        keras_seconds = median_seconds(lambda: model.predict(keras_inputs, verbose=0), repeats)

        folder = export.export_savedmodel(model, scratch / "models", name, size=side)
        signature = tf.saved_model.load(str(folder)).signatures["colorize_lightness"]
        seeds = {"seed": tf.constant([0], tf.int64)} if name == "gan" else {}
        saved_seconds = median_seconds(
            lambda: signature(lightness=lightness, **seeds)["ab"].numpy(), repeats
        )
        report = tflite.export_report(
            model,
            scratch / "tflite",
            input_size=side,
            representative_photos=calibration,
            report_photos=compared,
        )

    def row(label, work, seconds, baseline_label, baseline_seconds, **extra):
        return {
            "name": label,
            "work": work,
            "kcolor": f"{seconds * 1000:.1f} ms",
            "baseline": f"{baseline_seconds * 1000:.1f} ms ({baseline_label})",
            "ratio": baseline_seconds / seconds,
            "kcolor_seconds": seconds,
            "baseline_seconds": baseline_seconds,
            **extra,
        }

    subject = f"{name} {side}x{side}, 1 image"
    rows = [
        row(
            "export-savedmodel",
            f"SavedModel colorize_lightness (ab and RGB), {subject}",
            saved_seconds,
            "Keras predict, network only",
            keras_seconds,
        )
    ]
    variants = {entry["variant"]: entry for entry in report["variants"]}
    float32_seconds = variants["float32"]["latency_ms"] / 1000
    for variant, entry in variants.items():
        seconds = entry["latency_ms"] / 1000
        baseline = ("Keras predict", keras_seconds)
        if variant != "float32":
            baseline = ("TFLite float32", float32_seconds)
        rows.append(
            row(
                f"tflite-{variant}",
                f"TFLite {variant}, {entry['bytes'] / 1e6:.1f} MB, {subject}, 2 threads; "
                f"vs Keras on {entry['photos']} {origin}: ab RMSE {entry['ab_rmse']:.3f}, "
                f"PSNR vs Keras {-entry['psnr_difference']:+.3f} dB",
                seconds,
                *baseline,
                bytes=entry["bytes"],
                ab_rmse=entry["ab_rmse"],
                psnr_difference_db=entry["psnr_difference"],
                psnr_keras_db=entry["psnr_keras"],
            )
        )
    return rows
