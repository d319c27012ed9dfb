"""Put a finished training run's model into ``kcolor/weights/`` with its manifest entry.

Example:
    kcolor evaluate BSDS500/val --model runs/hc/model.keras --json hc.json
    python scripts/bundle_weights.py runs/hc --name hypercolumn --report hc.json \
        --mix mix/mix.json --default

For a GAN run only the generator is stored (all colorizing needs); for a guided GAN only
its own generator, with a reference to the bundled model that guides it (train it with
``--set guide=hypercolumn`` after the hypercolumn model is bundled). ``--set NAME=VALUE``
changes an inference setting of the hypercolumn model before it is stored (``boost``,
``fading``, ``decoding``, ``temperature``); the evaluation report should be of the model
with those settings. The manifest names the training data by the mix's source names,
never by where it lay on the training machine.
"""

import argparse
import csv
import json
import re
import sys
from pathlib import Path

import yaml


def _public(config: dict, mix: dict | None) -> dict:
    """The run's settings with machine paths replaced by what users can look up: the
    mix's source names (and where each came from) or the folders' own names."""
    titles = (mix or {}).get("sources", {})

    def name_of(item):
        if isinstance(item, dict) and item.get("name"):
            source = titles.get(item["name"], {})
            described = {"name": item["name"], "weight": item.get("weight", 1.0)}
            return described | {k: source[k] for k in ("title", "origin") if source.get(k)}
        path = item["path"] if isinstance(item, dict) else item
        paths = path if isinstance(path, list) else [path]
        # The last two parts name a shard pattern by its source ("utkface/val-*.tfrecord").
        return ", ".join("/".join(Path(str(p)).parts[-2:]) for p in paths)

    public = dict(config)
    public["data"] = [name_of(item) for item in config["data"]]
    public["val"] = [name_of(item) for item in config.get("val") or []]
    if public.get("init_from") and Path(str(public["init_from"])).exists():
        public["init_from"] = Path(str(public["init_from"])).name
    return public


def _training_record(run_dir: Path, mix: dict | None = None, epochs: int | None = None) -> dict:
    config = _public(yaml.safe_load((run_dir / "config.yaml").read_text()), mix)
    with open(run_dir / "history.csv", newline="") as handle:
        history = list(csv.DictReader(handle))[:epochs]
    epochs = len(history)
    steps = epochs * config["steps_per_epoch"]
    seconds = [float(row["epoch_seconds"]) for row in history if row.get("epoch_seconds")]
    return {
        "data": config["data"],
        "epochs": epochs,
        "steps": steps,
        "images_seen": steps * config["batch_size"],
        # Summed per-epoch wall times (validation included); absent for epochs trained
        # before kcolor logged them.
        "wall_seconds": round(sum(seconds)) if len(seconds) == epochs else None,
        "config": config,
        "history": history,
    }


_REPORTED = (
    "images",
    "model",
    "no_colour",
    "mean_tint",
    "tint_ab",
    "better_than_no_colour",
    "better_than_mean_tint",
    "photo_colorfulness",
)


def _mix_summary(mix: dict) -> str:
    names = ", ".join(
        f"{entry.get('title') or name} (weight {entry['weight']:g})"
        for name, entry in mix["sources"].items()
    )
    return (
        "the average colour (Lab a, b) of the training mix's photos, each source weighted "
        f"by its mixing weight; kcolor evaluate's mean-tint baseline. Sources: {names}"
    )


def _bundled_name(text: str) -> str:
    """A name for ``--model NAME``: lowercase letters, digits, '-' and '_'."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", text) or text == "default":
        raise argparse.ArgumentTypeError(f"{text!r} is not a bundled model name")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a kcolor train run directory")
    parser.add_argument(
        "--name",
        required=True,
        type=_bundled_name,
        help="the bundled name users pass to --model (hypercolumn, mobilenet_v2, gan, ...)",
    )
    parser.add_argument("--report", type=Path, help="kcolor evaluate --json report")
    parser.add_argument("--default", action="store_true", help="the model used by default")
    parser.add_argument(
        "--mix",
        type=Path,
        help="the training mix's mix.json: its sources and average colour (the mean-tint "
        "baseline of kcolor evaluate) go into the manifest",
    )
    parser.add_argument(
        "--checkpoint",
        type=int,
        metavar="EPOCH",
        help="store the run's checkpoint of this epoch instead of its final model",
    )
    parser.add_argument(
        "--float32",
        action="store_true",
        help="store every array in float32 (default: arrays over 1,024 values in float16)",
    )
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="K=V")
    parser.add_argument(
        "--compare",
        nargs="+",
        metavar="PHOTOS",
        help="report what float16 storage changes: bundled vs float32 model on these photos",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "kcolor" / "weights",
        help="weights folder (default: kcolor/weights)",
    )
    args = parser.parse_args(argv)

    import kcolor
    from kcolor.models import presets as bundled
    from kcolor.training import config as run_config

    if args.checkpoint is None:
        model = kcolor.load_model(str(args.run_dir / "model.keras"))
    else:
        from kcolor import training

        model = training.model_from_checkpoint(args.run_dir, args.checkpoint)
    for setting in args.settings:
        key, _, value = setting.partition("=")
        if key not in ("boost", "fading", "decoding", "temperature"):
            raise SystemExit(f"--set takes boost, fading, decoding or temperature; got {key!r}")
        setattr(model, key, yaml.safe_load(value))
    # A GAN's generator is all colorizing needs.
    stored = model.generator if isinstance(model, kcolor.models.DiverseColorGAN) else model
    mix = json.loads(args.mix.read_text()) if args.mix else None
    metadata = {"training": _training_record(args.run_dir, mix, args.checkpoint)}
    if args.report:
        report = json.loads(args.report.read_text())
        metadata["metrics"] = {key: report[key] for key in _REPORTED if key in report}
    # A guided GAN's guide is stored once, as the bundled model its run named.
    run_settings = run_config.load_config(args.run_dir / "config.yaml").model_settings
    guide = run_settings.get("guide")
    if guide is not None and not isinstance(stored, kcolor.models.GuidedColorGenerator):
        guide = None
    entry = bundled.write(
        stored,
        args.name,
        args.folder,
        metadata,
        default=args.default,
        guide=guide,
        half_precision=not args.float32,
    )
    if mix:
        bundled.set_mean_tint(args.folder, mix["mean_tint"], _mix_summary(mix))
    print(f"{args.folder / entry['file']}: {entry['bytes'] / 1e6:.1f} MB, sha256 {entry['sha256']}")
    if args.compare:
        _compare(stored, bundled.load(args.name, args.folder), args.compare)
    return 0


def _compare(full_model, stored_model, photos) -> None:
    import numpy as np

    from kcolor import color, inference, metrics
    from kcolor.data import sources

    paths = [path for source in sources.resolve_sources(photos) for path in source.images]
    ab_differences, psnr_differences = [], []
    for path in paths:
        rgb = inference.read_image(path)
        full, stored = inference.Colorizer(full_model), inference.Colorizer(stored_model)
        l_norm = full.model_input(rgb)
        ab_full, ab_stored = full.predict_ab(l_norm, seed=0), stored.predict_ab(l_norm, seed=0)
        ab_differences.append(float(np.mean(np.abs(ab_full - ab_stored))) * color.AB_SCALE)
        psnr_differences.append(
            float(metrics.psnr(inference.compose(rgb, ab_full[0, 0]), rgb))
            - float(metrics.psnr(inference.compose(rgb, ab_stored[0, 0]), rgb))
        )
    print(
        f"stored weights against the run's on {len(paths)} photo(s): mean |ab difference| "
        f"{np.mean(ab_differences):.4f} Lab units (largest per photo "
        f"{np.max(ab_differences):.4f}); PSNR run - stored: mean "
        f"{np.mean(psnr_differences):+.4f} dB, largest {np.max(np.abs(psnr_differences)):.4f} dB"
    )


if __name__ == "__main__":
    sys.exit(main())
