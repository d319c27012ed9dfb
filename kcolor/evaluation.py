"""``kcolor evaluate``: colorize the grayscale of colour photos and compare with them.

Every metric is reported for the model and for two baselines computed in the same run,
per image and as means: no colour (the photo's own lightness with a = b = 0) and a mean
tint (the same constant a, b on every pixel: by default the average colour of the bundled
models' training photos, which any colorizer should beat).
"""

import random
import sys

import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm import tqdm

from kcolor import color, images, inference, metrics, outputs
from kcolor.data import sources, tfrecords
from kcolor.models import presets as bundled

_SHEET_HEIGHT = 160


def _scores(result, original) -> dict[str, float]:
    return {
        "psnr": float(metrics.psnr(result, original)),
        "ssim": float(metrics.ssim(result, original)),
        "auc": float(metrics.ab_error_auc(result, original)),
        "colorfulness": float(metrics.colorfulness(result)),
    }


def default_tint() -> tuple[float, float]:
    """The bundled models' training mix's average colour ``(a, b)`` in Lab units, from
    the weights manifest; ``(0, 0)`` when the manifest does not record one."""
    try:
        return tuple(bundled.read_manifest().get("mean_tint", {}).get("ab", (0.0, 0.0)))
    except FileNotFoundError:
        return (0.0, 0.0)


def photos_of(image_sources, limit: int | None = None, seed: int = 0) -> list:
    """The photos to evaluate: image paths, and ``(name, encoded bytes)`` pairs for the
    records of TFRecord shards (a training mix's validation split, say).

    Args:
        image_sources: folders, globs, files or shards (see
            :func:`kcolor.data.sources.resolve_sources`).
        limit: keep this many, drawn at random (repeatably, by ``seed``) in their order.
    """
    resolved = sources.resolve_sources(image_sources)
    photos = [path for source in resolved for path in source.images]
    shards = [shard for source in resolved for shard in source.shards]
    if shards:
        records = tf.data.TFRecordDataset(shards).map(tfrecords.parse_record)
        photos += [(name.decode(), encoded) for name, encoded in records.as_numpy_iterator()]
    if limit is not None and len(photos) > limit:
        chosen = sorted(random.Random(seed).sample(range(len(photos)), limit))
        photos = [photos[index] for index in chosen]
    return photos


def _read(photo, max_pixels) -> np.ndarray:
    if isinstance(photo, tuple):
        return inference.decode_photo(*photo, max_pixels)
    return inference.read_image(photo, max_pixels)


def _is_grayscale(rgb: np.ndarray) -> bool:
    """Whether a photo has no colour to compare with (mean Lab chroma below the training
    pipeline's ``min_chroma``): its no-colour PSNR would be infinite. Measured on a copy at
    most 256 pixels on its longer side."""
    height, width = rgb.shape[:2]
    scale = min(1.0, 256 / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = images.resize_image(tf.convert_to_tensor(rgb), size) / 255.0
    ab = color.rgb_to_lab(tf.clip_by_value(small, 0.0, 1.0))[..., 1:]
    return float(images.mean_chroma(ab)) < 0.5


def evaluate_files(
    paths,
    colorizer: inference.Colorizer,
    seed=0,
    progress=True,
    samples=1,
    tint=None,
    max_pixels=inference.DEFAULT_MAX_PIXELS,
    sheet_rows: int = 8,
):
    """Score the model on colour photos; returns ``(report, rows)``.

    ``paths`` are image paths or ``(name, encoded bytes)`` pairs (see :func:`photos_of`).
    ``report`` holds per-image scores and their means for the model, the no-colour
    baseline and the mean-tint baseline (``tint``, ``(a, b)`` in Lab units; default
    :func:`default_tint`), the share of photos the model scores better than each baseline
    in PSNR, the photos' own colorfulness, the files that failed, and the grayscale
    photos left out (nothing to compare their colour with); ``rows`` holds
    (gray, result(s), original) uint8 images of the first ``sheet_rows`` photos.
    With ``samples`` > 1 (GAN models) each photo's scores are the means over its
    colourings, and two more are added per image and as means: ``best_psnr``, the PSNR
    of the colouring closest to the photo (best of N: is one of the draws right?), and
    ``diversity`` (:func:`kcolor.metrics.sample_diversity`, Lab units).
    """
    tint = default_tint() if tint is None else tuple(tint)
    tint_ab_norm = (np.array(tint, np.float32) / color.AB_SCALE).reshape(1, 1, 2)
    images, failed, rows, grayscale = [], [], [], []
    for path in tqdm(paths, unit="img", disable=not progress or len(paths) < 2):
        name = path[0] if isinstance(path, tuple) else path
        try:
            original = _read(path, max_pixels)
        except inference.ImageReadError as error:
            failed.append({"file": name, "reason": str(error)})
            tqdm.write(f"failed {error}", file=sys.stderr)
            continue
        if _is_grayscale(original):
            grayscale.append(name)
            continue
        scores, results, gray = _score_photo(name, original, colorizer, samples, seed, tint_ab_norm)
        images.append(scores)
        if len(rows) < sheet_rows:
            rows.append((gray, *results, original))

    report = {**_summary(images, samples, tint), "failed": failed, "grayscale": grayscale}
    return report, rows


def _score_photo(name, original, colorizer, samples, seed, tint_ab_norm):
    """One photo's scores (see :func:`evaluate_files`), its colourings and its gray."""
    ab_norm = colorizer.predict_ab(colorizer.model_input(original), samples, seed)
    results = [inference.compose(original, ab) for ab in ab_norm[0]]
    gray = inference.compose(original, np.zeros((1, 1, 2), np.float32))
    per_sample = [_scores(result, original) for result in results]
    means = {key: float(np.mean([one[key] for one in per_sample])) for key in _BASELINE_KEYS}
    scores = {
        "file": name,
        "model": means,
        "no_colour": _scores(gray, original),
        "mean_tint": _scores(inference.compose(original, tint_ab_norm), original),
        "photo_colorfulness": float(metrics.colorfulness(original)),
    }
    if samples > 1:
        scores["model"]["best_psnr"] = max(one["psnr"] for one in per_sample)
        scores["model"]["diversity"] = float(metrics.sample_diversity(ab_norm)[0])
    return scores, results, gray


def _summary(images: list, samples: int, tint) -> dict:
    """The means over ``images``' scores, and the share of photos the model beats each
    baseline on in PSNR (None for each when there are no images)."""

    def mean(kind, key):
        return float(np.mean([image[kind][key] for image in images])) if images else None

    def share_better(baseline):
        if not images:
            return None
        return float(np.mean([i["model"]["psnr"] > i[baseline]["psnr"] for i in images]))

    return {
        "images": len(images),
        "model": {key: mean("model", key) for key in _model_keys(samples)},
        "no_colour": {key: mean("no_colour", key) for key in _BASELINE_KEYS},
        "mean_tint": {key: mean("mean_tint", key) for key in _BASELINE_KEYS},
        "tint_ab": list(tint),
        "better_than_no_colour": share_better("no_colour"),
        "better_than_mean_tint": share_better("mean_tint"),
        "photo_colorfulness": (
            float(np.mean([image["photo_colorfulness"] for image in images])) if images else None
        ),
        "per_image": images,
    }


_BASELINE_KEYS = ("psnr", "ssim", "auc", "colorfulness")


def _model_keys(samples: int) -> tuple[str, ...]:
    return _BASELINE_KEYS + ("best_psnr", "diversity") if samples > 1 else _BASELINE_KEYS


def contact_sheet(rows, path: str, height: int = _SHEET_HEIGHT) -> None:
    """Write a sheet with one row per photo (e.g. gray | result(s) | original): every
    image scaled to ``height``, then each row to the widest row's width, so that a row of
    portrait photos is taller than one of landscape photos and no row leaves a blank
    beside it. JPEG if ``path`` ends in .jpg/.jpeg, PNG otherwise."""
    # Each row's width at ``height``; the widest sets the sheet's width, and every row is
    # then resized from its photos straight to that width (one resize, no blur).
    widths = [len(row) * row[0].shape[1] * height / row[0].shape[0] for row in rows]
    sheet_width = max(1, round(max(widths)))
    scaled = []
    for row in rows:
        old_height, width = row[0].shape[:2]
        image_width = max(1, sheet_width // len(row))
        image_height = max(1, round(old_height * image_width / width))
        images = [Image.fromarray(image).resize((image_width, image_height)) for image in row]
        strip = np.concatenate([np.asarray(image) for image in images], axis=1)
        scaled.append(np.asarray(Image.fromarray(strip).resize((sheet_width, image_height))))
    sheet = np.concatenate(scaled, axis=0)
    fmt = "jpg" if str(path).lower().endswith((".jpg", ".jpeg")) else "png"
    outputs.save_image(sheet, path, fmt)


def format_report(report) -> str:
    """A small table: the model and both baselines side by side."""
    a, b = report["tint_ab"]
    left_out = (
        f"; {len(report['grayscale'])} grayscale photo(s) left out" if report["grayscale"] else ""
    )
    lines = [
        f"{report['images']} photo(s){left_out}",
        f"{'metric':<14}{'model':>10}{'no colour':>12}{'mean tint':>12}",
    ]
    for key in _BASELINE_KEYS:
        model = report["model"][key]
        if model is not None:
            lines.append(
                f"{key:<14}{model:>10.3f}{report['no_colour'][key]:>12.3f}"
                f"{report['mean_tint'][key]:>12.3f}"
            )
    for key, label in (("best_psnr", "best-of-N psnr"), ("diversity", "diversity")):
        if report["model"].get(key) is not None:
            lines.append(f"{label:<14}{report['model'][key]:>10.3f}")
    if report["photo_colorfulness"] is not None:
        lines.append(f"{'photos colorfulness':<26}{report['photo_colorfulness']:.3f}")
        lines.append(
            f"model PSNR above no colour on {report['better_than_no_colour']:.0%} of the "
            f"photos, above the mean tint (a={a:g}, b={b:g}) on "
            f"{report['better_than_mean_tint']:.0%}"
        )
    return "\n".join(lines)
