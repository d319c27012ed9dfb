"""The ``kcolor`` console command."""

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Sequence

from kcolor.errors import ConfigError, KcolorError


def _build_parser() -> argparse.ArgumentParser:
    from kcolor import __version__

    parser = argparse.ArgumentParser(
        prog="kcolor",
        description="Automatic colorization of grayscale photographs (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"kcolor {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up lines (also: KCOLOR_VERBOSE=1)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    shard = commands.add_parser(
        "make-tfrecords",
        help="shard folders of images into TFRecord files for training at scale",
        description="Check every image and write the readable ones into TFRecord shards "
        "of their original encoded bytes. Unreadable files are reported and left out.",
    )
    shard.add_argument("sources", nargs="+", help="folders (recursive), glob patterns or files")
    shard.add_argument("-o", "--output", required=True, help="folder for the shards")
    shard.add_argument("--images-per-shard", type=int, default=1000)
    shard.add_argument("--prefix", default="images", help="shard file name prefix")
    shard.add_argument("--overwrite", action="store_true", help="replace existing shards")
    shard.add_argument("--quiet", action="store_true", help="no progress bar")

    colorize = commands.add_parser(
        "colorize",
        help="colorize photos (files, folders, globs) into an output folder",
        description="Colorize grayscale (or colour, from their lightness) photos. Each "
        "output has its input's size; folders keep their structure under OUTPUT. Files "
        "that cannot be read are reported and the rest still finish; the exit status is "
        "1 if any file failed. Existing outputs are kept unless --force is given.",
    )
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs")
    colorize.add_argument("-o", "--output", required=True, help="output folder")
    _add_model_arguments(colorize)
    _add_precision(colorize)
    colorize.add_argument(
        "--samples", type=int, default=1, help="colourings per photo (GAN models only)"
    )
    colorize.add_argument("--seed", type=int, default=None, help="repeatable GAN colourings")
    colorize.add_argument("--batch-size", type=int, default=1, help="photos per model call")
    colorize.add_argument("--force", action="store_true", help="replace existing outputs")
    colorize.add_argument("--format", choices=("png", "jpg"), default="png")
    colorize.add_argument("--quiet", action="store_true", help="no progress bar")
    videos = _add_temporal_arguments(colorize)
    videos.add_argument(
        "--crf", type=int, default=None, help="encoder quality: lower is better (H.264: 18)"
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="colorize the grayscale of colour photos and compare with the originals",
        description="Report PSNR, SSIM, the AuC of the ab-error CDF (0-150) and "
        "colorfulness for the model and for the no-colour baseline, per image and mean.",
    )
    evaluate.add_argument(
        "inputs", nargs="+", metavar="DATA", help="files, folders, globs or TFRecord shards"
    )
    _add_model_arguments(evaluate)
    _add_precision(evaluate)
    evaluate.add_argument("--json", help="write the full report to this JSON file")
    evaluate.add_argument("--sheet", help="write a gray | result | original contact sheet PNG")
    evaluate.add_argument("--sheet-rows", type=int, default=8, help="photos on the sheet (8)")
    evaluate.add_argument("--seed", type=int, default=0, help="GAN noise seed")
    evaluate.add_argument(
        "--samples",
        type=int,
        default=1,
        help="GAN models: colourings per photo; above 1 also reports their diversity",
    )
    evaluate.add_argument(
        "--tint",
        nargs=2,
        type=float,
        metavar=("A", "B"),
        help="the mean-tint baseline's constant Lab a and b (default: the average colour "
        "of the bundled models' training photos)",
    )
    evaluate.add_argument(
        "--limit", type=int, help="score this many photos, drawn at random (by --seed)"
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_temporal_arguments(evaluate)

    _add_train_parser(commands)
    _add_export_parser(commands)
    _add_client_parser(commands)
    _add_app_parser(commands)
    return parser


def _add_export_parser(commands) -> None:
    export = commands.add_parser(
        "export",
        help="export a model as a SavedModel for TF Serving or as TFLite for devices",
        description="SavedModel: TF Serving's layout OUTPUT/NAME/VERSION with the whole "
        "colorize path in the graph (encoded image in, PNG out; float signatures; warmup "
        "requests), checked against the Keras model after writing. TFLite: one file per "
        "variant in OUTPUT, builtin ops only, with a report of size, latency and "
        "agreement with the Keras model.",
    )
    export.add_argument("--format", choices=("savedmodel", "tflite"), default="savedmodel")
    export.add_argument("-o", "--output", required=True, help="model base folder / TFLite folder")
    _add_model_arguments(export)
    export.add_argument("--name", default="colorizer", help="served model name / file prefix")
    export.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    export.add_argument("--version", type=int, help="SavedModel version (default: next)")
    export.add_argument(
        "--warmup", nargs="+", default=[], help="photos for the warmup requests (SavedModel)"
    )
    export.add_argument(
        "--variants",
        nargs="+",
        default=["float32", "float16", "dynamic-int8", "int8"],
        choices=("float32", "float16", "dynamic-int8", "int8"),
        help="TFLite variants (default: all)",
    )
    export.add_argument(
        "--input-size",
        type=int,
        default=256,
        help="TFLite input side in pixels; 0 for a resizable input (default 256)",
    )
    export.add_argument(
        "--representative", nargs="+", default=[], help="photos to calibrate the int8 variant on"
    )
    export.add_argument(
        "--report-photos", nargs="+", default=[], help="photos to compare TFLite with Keras on"
    )
    export.add_argument("--report", help="write the TFLite report to this JSON file")
    export.add_argument("--threads", type=int, default=2, help="threads for TFLite latency")


def _add_client_parser(commands) -> None:
    client = commands.add_parser(
        "client",
        help="colorize photos through a running TF Serving server (REST or gRPC)",
        description="Send photos to a kcolor SavedModel served by TF Serving and write the "
        "colorized PNGs to OUTPUT, with the rules of kcolor colorize (unreadable files "
        "reported, existing outputs kept unless --force, exit status 1 on any failure).",
    )
    client.add_argument("protocol", choices=("rest", "grpc"))
    client.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs")
    client.add_argument("-o", "--output", required=True, help="output folder")
    client.add_argument(
        "--server", help="REST: http://host:8501 (default); gRPC: host:8500 (default)"
    )
    _add_max_pixels(client)
    client.add_argument("--model-name", default="colorizer", help="served model name")
    client.add_argument("--version", type=int, help="model version (default: the latest)")
    client.add_argument("--samples", type=int, default=1, help="colourings per photo (GAN)")
    client.add_argument("--seed", type=int, help="first seed (GAN); default random")
    client.add_argument("--batch-size", type=int, default=4, help="photos per request")
    client.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    client.add_argument("--format", choices=("png", "jpg"), default="png")
    client.add_argument("--force", action="store_true", help="replace existing outputs")


def _add_app_parser(commands) -> None:
    from kcolor.app import DEFAULT_PORT

    app = commands.add_parser(
        "app",
        help="a local web page: drop photos, see and download the colourings",
        description="Serve a web page for colorizing photos (needs pip install "
        '"kcolor[app]"). It listens on 127.0.0.1 (this computer only) unless --host says '
        "otherwise; photos never leave the computer that runs it. Ctrl-C stops it.",
    )
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    app.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    app.add_argument(
        "--model",
        action="append",
        default=[],
        help="a .keras or .tflite model file to offer beside the bundled ones (repeatable)",
    )
    app.add_argument(
        "--max-upload-mb", type=float, default=50, help="largest upload accepted (50 MB)"
    )
    app.add_argument("--max-files", type=int, default=100, help="files per drop (100)")
    _add_max_pixels(app)


def _app(args: argparse.Namespace) -> int:
    import time

    from kcolor.app import running_app

    with running_app(
        args.host,
        args.port,
        args.model,
        args.max_upload_mb,
        _max_pixels(args),
        args.max_files,
    ) as app:
        print(f"kcolor app: serving {app.address} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("kcolor app: stopped", file=sys.stderr)
    return 0


def _add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a model into a run directory (resumes when started again)",
        description="Train the hypercolumn model (Larsson et al.) or the diverse GAN (Cao et "
        "al.) with model.fit. Settings come from the model's defaults, then --config, then "
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


def _add_temporal_arguments(command: argparse.ArgumentParser):
    """The video options ``colorize`` and ``evaluate`` share; returns their group."""
    videos = command.add_argument_group(
        "videos", "(.mp4, .mov, .avi, .mkv, .webm: written in their own format, audio copied)"
    )
    videos.add_argument(
        "--temporal",
        choices=("on", "off"),
        default="on",
        help="on (default): carry colour along the motion so it stays put between frames; "
        "off: colour every frame on its own",
    )
    videos.add_argument(
        "--temporal-strength",
        type=float,
        default=0.8,
        metavar="S",
        help="weight of the colour carried from the previous frame where the motion is "
        "followed, 0 to below 1 (0.8)",
    )
    videos.add_argument(
        "--keyframe-interval",
        type=int,
        default=1,
        metavar="K",
        help="run the network on every K-th frame and carry colour along the motion in "
        "between (faster; 1, the default, runs it on every frame)",
    )
    return videos


def _add_model_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--model",
        default=None,
        help="a .keras or .tflite model file (or the name of a bundled model: default, "
        "mobilenet_v2, hypercolumn, gan)",
    )
    command.add_argument(
        "--size", type=int, default=256, help="shorter side of the processing size (256)"
    )
    _add_max_pixels(command)


def _add_precision(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16", "int8"),
        default="auto",
        help="arithmetic of the network: auto (default) takes bfloat16 where the CPU "
        "computes it natively (AVX512-BF16 or AMX) and float32 elsewhere; int8 runs an "
        "int8 TFLite conversion, made on first use and cached",
    )


def _add_max_pixels(command: argparse.ArgumentParser) -> None:
    from kcolor.limits import DEFAULT_MAX_PIXELS

    command.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse photos of more pixels than this, read from the file's header before "
        f"decoding (default {DEFAULT_MAX_PIXELS:,}; 0: no limit)",
    )


def _max_pixels(args: argparse.Namespace) -> int | None:
    if args.max_pixels < 0:
        raise ConfigError("--max-pixels must be 0 (no limit) or more.")
    return args.max_pixels or None


def _colorizer(args: argparse.Namespace):
    from kcolor import api

    return api.make_colorizer(args.model, args.size, args.precision)


def _colorize(args: argparse.Namespace) -> int:
    from kcolor import jobs

    if args.samples < 1 or args.batch_size < 1:
        raise ConfigError("--samples and --batch-size must be at least 1.")
    colorizer = _colorizer(args)
    colorizer.check_samples(args.samples)

    def colorize_all(planned):
        videos = [job for job in planned if jobs.is_video_job(job)]
        photos = [job for job in planned if not jobs.is_video_job(job)]
        report = jobs.colorize_files(
            photos,
            colorizer,
            samples=args.samples,
            seed=args.seed,
            batch_size=args.batch_size,
            fmt=args.format,
            force=args.force,
            progress=not args.quiet,
            max_pixels=_max_pixels(args),
        )
        if videos:
            report.extend(
                jobs.colorize_videos(
                    videos,
                    colorizer,
                    temporal=_temporal_settings(args),
                    seed=args.seed,
                    crf=args.crf,
                    force=args.force,
                    progress=not args.quiet,
                    max_pixels=_max_pixels(args),
                )
            )
        return report

    return _run_jobs(args, colorize_all)


def _temporal_settings(args: argparse.Namespace):
    from kcolor.video import TemporalSettings

    return TemporalSettings(
        enabled=args.temporal == "on",
        strength=args.temporal_strength,
        keyframe_interval=args.keyframe_interval,
    )


def _run_jobs(args: argparse.Namespace, colorize_files) -> int:
    """Plan the outputs of ``args.inputs``, report inputs that cannot be planned, run
    ``colorize_files(jobs)`` and print the summary; returns the exit status."""
    from kcolor import jobs

    left_out = []
    planned, problems = jobs.plan_jobs(
        args.inputs, args.output, args.format, args.samples, left_out=left_out
    )
    for name, reason in left_out:
        print(jobs.one_line(f"left out {name}: {reason}"), file=sys.stderr)
    for name, reason in problems:
        print(jobs.one_line(f"failed {name}: {reason}"), file=sys.stderr)
    report = colorize_files(planned)
    failures = len(report.failed) + len(problems)
    print(
        f"wrote {len(report.written)} file(s) to {args.output}; "
        f"{len(report.skipped)} skipped, {failures} failed"
        + (f", {len(left_out)} left out (not photos)" if left_out else "")
    )
    return 1 if failures else 0


def _evaluate(args: argparse.Namespace) -> int:
    from kcolor import evaluation, outputs

    colorizer = _colorizer(args)
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1.")
    from kcolor.data.sources import is_video

    videos = [given for given in args.inputs if is_video(given)]
    if videos:
        if len(videos) != len(args.inputs):
            raise ConfigError("evaluate photos and videos in separate runs.")
        return _evaluate_videos(args, colorizer, videos)
    photos = evaluation.photos_of(args.inputs, args.limit, args.seed)
    colorizer.check_samples(args.samples)
    report, rows = evaluation.evaluate_files(
        photos,
        colorizer,
        args.seed,
        not args.quiet,
        samples=args.samples,
        tint=args.tint,
        max_pixels=_max_pixels(args),
        sheet_rows=args.sheet_rows,
    )
    print(evaluation.format_report(report))
    if args.json:
        text = json.dumps(report, indent=2).encode()
        outputs.write_atomically(args.json, lambda handle: handle.write(text))
    if args.sheet and rows:
        evaluation.contact_sheet(rows, args.sheet)
    return 1 if report["failed"] else 0


def _evaluate_videos(args: argparse.Namespace, colorizer, videos) -> int:
    """``kcolor evaluate`` on colour videos: one report per video (see
    :mod:`kcolor.video.evaluation`); a video that cannot be read fails alone."""
    from kcolor import jobs, outputs
    from kcolor.video import evaluation as video_evaluation

    reports, failed = [], 0
    for path in videos:
        try:
            report = video_evaluation.evaluate_video(
                path, colorizer, _temporal_settings(args), args.seed, args.limit, not args.quiet
            )
        except (KcolorError, FileNotFoundError) as error:
            print(jobs.one_line(f"failed {path}: {error}"), file=sys.stderr)
            failed += 1
            continue
        print(video_evaluation.format_video_report(report))
        reports.append(report)
    if args.json:
        text = json.dumps(reports, indent=2).encode()
        outputs.write_atomically(args.json, lambda handle: handle.write(text))
    return 1 if failed else 0


def _train(args: argparse.Namespace) -> int:
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


def _export(args: argparse.Namespace) -> int:
    from kcolor import api

    model = api.load_model(args.model)
    source = args.model or "bundled default model"
    if args.format == "savedmodel":
        from kcolor import inference
        from kcolor.deploy import export

        warmup = [inference.upright_bytes(path) for path in _photo_paths(args.warmup)] or None
        folder = export.export_savedmodel(
            model,
            args.output,
            args.name,
            version=args.version,
            size=args.size,
            warmup=warmup,
            source=source,
            overwrite=args.overwrite,
            max_pixels=_max_pixels(args),
        )
        difference = export.verify_savedmodel(folder, model, args.size)
        print(f"wrote {folder}; its ab differs from the Keras model's by at most {difference:.2e}")
        return 0 if difference <= export.PARITY_TOLERANCE else 1
    from kcolor.deploy import tflite

    report = tflite.export_report(
        model,
        args.output,
        args.variants,
        input_size=args.input_size or None,
        representative_photos=_photo_paths(args.representative),
        report_photos=_photo_paths(args.report_photos),
        name=args.name,
        overwrite=args.overwrite,
        num_threads=args.threads,
    )
    print(tflite.format_report(report))
    if args.report:
        from kcolor import outputs

        text = json.dumps(report, indent=2).encode()
        outputs.write_atomically(args.report, lambda handle: handle.write(text))
    return 0


def _photo_paths(inputs) -> list[str]:
    from kcolor.data import sources

    if not inputs:
        return []
    return [path for source in sources.resolve_sources(inputs) for path in source.images]


def _client(args: argparse.Namespace) -> int:
    from kcolor import jobs
    from kcolor.deploy import serving

    if args.samples < 1 or args.batch_size < 1:
        raise ConfigError("--samples and --batch-size must be at least 1.")
    if args.protocol == "rest":
        client = serving.RestClient(
            args.server or "http://localhost:8501", args.model_name, args.version, args.timeout
        )
    else:
        client = serving.GrpcClient(
            args.server or "localhost:8500", args.model_name, args.version, args.timeout
        )
    return _run_jobs(
        args,
        lambda planned: jobs.colorize_served(
            client,
            planned,
            samples=args.samples,
            seed=args.seed,
            batch_size=args.batch_size,
            fmt=args.format,
            force=args.force,
            max_pixels=_max_pixels(args),
        ),
    )


def _make_tfrecords(args: argparse.Namespace) -> int:
    from kcolor.data import tfrecords

    written = tfrecords.write_tfrecords(
        args.sources,
        args.output,
        images_per_shard=args.images_per_shard,
        prefix=args.prefix,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(f"wrote {len(written)} shard(s) to {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kcolor`` command; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handlers = {
        "make-tfrecords": _make_tfrecords,
        "colorize": _colorize,
        "evaluate": _evaluate,
        "train": _train,
        "export": _export,
        "client": _client,
        "app": _app,
    }
    from kcolor import startup

    startup.load_tensorflow(args.verbose)
    try:
        with _stopping_on(STOP_SIGNALS):
            return handlers[args.command](args)
    except (KcolorError, FileNotFoundError, FileExistsError) as error:
        # kcolor's own errors say what is wrong and with which file; anything else is a
        # bug and keeps its traceback.
        print(f"kcolor {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Stopped as stop:
        print(f"kcolor {args.command}: stopped by {stop.name}", file=sys.stderr)
        return 128 + stop.signal_number
    except KeyboardInterrupt:
        print(f"kcolor {args.command}: interrupted", file=sys.stderr)
        return 130


# What kill, systemd and container stops send (SIGTERM), and a closed terminal (SIGHUP).
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class Stopped(KeyboardInterrupt):
    """A stop signal, raised where the main thread is, so that everything that cleans up
    after Ctrl-C (temporary outputs removed, the pipeline's threads stopped) does so."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number
        self.name = signal.Signals(signal_number).name


@contextlib.contextmanager
def _stopping_on(names):
    """Turn the signals ``names`` into :class:`Stopped` while the block runs (signal
    handlers can only be set from the main thread; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signal_number, frame):
        raise Stopped(signal_number)

    numbers = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":
    sys.exit(main())
