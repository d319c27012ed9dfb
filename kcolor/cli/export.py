"""``kcolor export``: a SavedModel for TF Serving or TFLite files for devices."""

import argparse
import json

from kcolor.cli import options


def add_parser(commands) -> None:
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
    options.add_model_arguments(export)
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


def run(args: argparse.Namespace) -> int:
    from kcolor import api

    model = api.load_model(args.model)
    source = args.model or "bundled default model"
    if args.format == "savedmodel":
        from kcolor import inference
        from kcolor.deploy import export

        warmup = [
            inference.upright_bytes(path) for path in options.photo_paths(args.warmup)
        ] or None
        folder = export.export_savedmodel(
            model,
            args.output,
            args.name,
            version=args.version,
            size=args.size,
            warmup=warmup,
            source=source,
            overwrite=args.overwrite,
            max_pixels=options.max_pixels(args),
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
        representative_photos=options.photo_paths(args.representative),
        report_photos=options.photo_paths(args.report_photos),
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
