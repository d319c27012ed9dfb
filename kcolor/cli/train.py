"""``kcolor train``: train a model kind into a run directory."""

import argparse
import json
import sys


def add_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a model into a run directory (resumes when started again)",
        description="Train a model kind with model.fit: the hypercolumn model (Larsson et "
        "al.), the diverse GAN (Cao et al.) or a kind registered in kcolor.models.registry. "
        "Settings come from the kind's defaults, then --config, then "
        "the flags and --set overrides; the resolved settings are written to "
        "RUN_DIR/config.yaml. TensorBoard logs, checkpoints, a per-epoch backup and the "
        "final model.keras all go under RUN_DIR. Starting the same command again after an "
        "interruption continues from the last finished epoch.",
    )
    train.add_argument(
        "model",
        help="the model kind: hypercolumn (Larsson et al.), gan (Cao et al.) or another "
        "kind registered in kcolor.models.registry",
    )
    train.add_argument("--data", nargs="+", help="training folders, globs or TFRecord shards")
    train.add_argument("--val", nargs="+", help="validation folders, globs or shards")
    train.add_argument("--run-dir", required=True, help="folder for everything the run makes")
    train.add_argument(
        "--config",
        action="append",
        default=[],
        help="a YAML or JSON file of settings; give several to combine them (later wins)",
    )
    train.add_argument(
        "--init-from",
        metavar="MODEL",
        help="fine-tune: start from a bundled model (by name), a .keras or a "
        ".weights.h5 file, with a fresh optimizer",
    )
    for flag, kind in (
        ("--image-size", int),
        ("--batch-size", int),
        ("--epochs", int),
        ("--steps-per-epoch", int),
        ("--learning-rate", float),
        ("--seed", int),
    ):
        train.add_argument(flag, type=kind)
    train.add_argument("--mixed-precision", choices=("float32", "mixed_bfloat16"))
    train.add_argument("--strategy", choices=("default", "mirrored", "multi-worker"))
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other setting, e.g. --set schedule=cosine --set model_args.frozen_blocks=2",
    )


def run(args: argparse.Namespace) -> int:
    from kcolor.training import config as run_config

    config = run_config.load_config(*args.config) if args.config else run_config.RunConfig()
    overrides = [f"model={args.model}"]
    for name in (
        "data",
        "val",
        "image_size",
        "batch_size",
        "epochs",
        "steps_per_epoch",
        "learning_rate",
        "seed",
        "mixed_precision",
        "strategy",
        "init_from",
    ):
        value = getattr(args, name)
        if value is not None:
            overrides.append(f"{name}={json.dumps(value)}")
    config = run_config.with_overrides(config, overrides + args.overrides).resolved()
    # Nothing else may touch TensorFlow first: multi-worker collectives are set up here.
    from kcolor import training

    strategy = training.make_strategy(config.strategy)
    result = training.train(config, args.run_dir, strategy, verbose=1 if sys.stdout.isatty() else 2)
    if result.model is None:
        print(f"{args.run_dir}: already trained for {result.epochs} epochs; nothing to do")
    elif result.initial_epoch >= result.epochs and result.model_path is not None:
        print(
            f"{args.run_dir}: all {result.epochs} epochs were trained; final model saved "
            f"from the last backup: {result.model_path}"
        )
    elif result.model_path is not None:
        print(
            f"trained epochs {result.initial_epoch + 1}-{result.epochs}; model: {result.model_path}"
        )
    return 0
