"""``kcolor evaluate``: colorize the grayscale of colour photos and compare with them.

Every metric is reported for the model and for the no-colour baseline (the photo's own
lightness with a = b = 0) computed in the same run, per image and as means.
"""

import sys

import numpy as np
from PIL import Image
from tqdm import tqdm

from kcolor import inference, metrics, outputs

_SHEET_ROWS = 8
_SHEET_HEIGHT = 160


def _scores(result, original) -> dict[str, float]:
    return {
        "psnr": float(metrics.psnr(result, original)),
        "ssim": float(metrics.ssim(result, original)),
        "auc": float(metrics.ab_error_auc(result, original)),
        "colourfulness": float(metrics.colourfulness(result)),
    }


def evaluate_files(paths, colorizer: inference.Colorizer, seed=0, progress=True, samples=1):
    """Score the model on colour photos; returns ``(report, sheet_rows)``.

    ``report`` holds per-image scores and their means for the model and the no-colour
    baseline, the photos' own colourfulness, and the files that failed;
    ``sheet_rows`` holds (gray, result(s), original) uint8 images of the first few photos.
    With ``samples`` > 1 (GAN models) the scores are those of the first colouring and
    ``diversity`` (:func:`kcolor.metrics.sample_diversity` of all of them, Lab units) is
    added per image and as a mean.
    """
    images, failed, rows = [], [], []
    for path in tqdm(paths, unit="img", disable=not progress or len(paths) < 2):
        try:
            original = inference.read_image(path)
        except inference.ImageReadError as error:
            failed.append({"file": path, "reason": str(error)})
            tqdm.write(f"failed {error}", file=sys.stderr)
            continue
        ab_norm = colorizer.predict_ab(colorizer.model_input(original), samples, seed)
        results = [inference.compose(original, ab) for ab in ab_norm[0]]
        gray = inference.compose(original, np.zeros((1, 1, 2), np.float32))
        scores = {
            "file": path,
            "model": _scores(results[0], original),
            "no_colour": _scores(gray, original),
            "photo_colourfulness": float(metrics.colourfulness(original)),
        }
        if samples > 1:
            scores["model"]["diversity"] = float(metrics.sample_diversity(ab_norm)[0])
        images.append(scores)
        if len(rows) < _SHEET_ROWS:
            rows.append((gray, *results, original))

    def mean(kind, key):
        return float(np.mean([image[kind][key] for image in images])) if images else None

    report = {
        "images": len(images),
        "model": {key: mean("model", key) for key in _model_keys(samples)},
        "no_colour": {
            key: mean("no_colour", key) for key in ("psnr", "ssim", "auc", "colourfulness")
        },
        "photo_colourfulness": (
            float(np.mean([image["photo_colourfulness"] for image in images])) if images else None
        ),
        "per_image": images,
        "failed": failed,
    }
    return report, rows


def _model_keys(samples: int) -> tuple[str, ...]:
    keys = ("psnr", "ssim", "auc", "colourfulness")
    return keys + ("diversity",) if samples > 1 else keys


def contact_sheet(rows, path: str, height: int = _SHEET_HEIGHT) -> None:
    """Write a sheet with one row per photo (e.g. gray | result(s) | original), every image
    scaled to ``height``; JPEG if ``path`` ends in .jpg/.jpeg, PNG otherwise."""
    scaled = []
    for row in rows:
        old_height, width = row[0].shape[:2]
        new_width = max(1, round(width * height / old_height))
        scaled.append(
            np.concatenate(
                [np.asarray(Image.fromarray(image).resize((new_width, height))) for image in row],
                axis=1,
            )
        )
    sheet_width = max(row.shape[1] for row in scaled)
    sheet = np.full((height * len(scaled), sheet_width, 3), 255, np.uint8)
    for index, row in enumerate(scaled):
        sheet[index * height : (index + 1) * height, : row.shape[1]] = row
    fmt = "jpg" if str(path).lower().endswith((".jpg", ".jpeg")) else "png"
    outputs.save_image(sheet, path, fmt)


def format_report(report) -> str:
    """A small table: model and no-colour baseline side by side."""
    lines = [f"{report['images']} photo(s)", f"{'metric':<14}{'model':>10}{'no colour':>12}"]
    for key in ("psnr", "ssim", "auc", "colourfulness"):
        model, baseline = report["model"][key], report["no_colour"][key]
        if model is not None:
            lines.append(f"{key:<14}{model:>10.3f}{baseline:>12.3f}")
    if report["model"].get("diversity") is not None:
        lines.append(f"{'diversity':<14}{report['model']['diversity']:>10.3f}")
    if report["photo_colourfulness"] is not None:
        lines.append(f"{'photos colourfulness':<26}{report['photo_colourfulness']:.3f}")
    return "\n".join(lines)
