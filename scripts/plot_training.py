"""Plot training curves of kcolor runs (validation PSNR and loss against images seen).

Needs matplotlib (``pip install -e ".[docs]"``). Example:
    python scripts/plot_training.py runs/hc_frozen runs/hc_finetune -o docs/curves.png \\
        --labels "frozen HED" "fine-tuned HED"
"""

import argparse
import csv
import sys
from pathlib import Path

import yaml


def _curve(run_dir: Path):
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    with open(run_dir / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    per_epoch = config["steps_per_epoch"] * config["batch_size"]
    seen = [(int(row["epoch"]) + 1) * per_epoch for row in rows]
    return seen, rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.add_argument("--labels", nargs="+", help="one label per run (default: folder names)")
    parser.add_argument(
        "--metrics", nargs="+", default=["val_psnr", "loss"], help="history.csv columns"
    )
    args = parser.parse_args(argv)
    labels = args.labels or [run.name for run in args.runs]
    if len(labels) != len(args.runs):
        parser.error("give one label per run")

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, len(args.metrics), figsize=(4 * len(args.metrics), 3))
    axes = [axes] if len(args.metrics) == 1 else list(axes)
    for run, label in zip(args.runs, labels, strict=True):
        seen, rows = _curve(run)
        for axis, metric in zip(axes, args.metrics, strict=True):
            values = [float(row[metric]) if row.get(metric) else None for row in rows]
            axis.plot([s / 1000 for s in seen], values, marker="o", markersize=3, label=label)
    for axis, metric in zip(axes, args.metrics, strict=True):
        axis.set_xlabel("training images seen (thousands)")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.output, dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
