"""``kcolor client``: colorize files through a TF Serving server."""

import argparse

from kcolor.cli import options
from kcolor.errors import ConfigError


def add_parser(commands) -> None:
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
    options.add_max_pixels(client)
    client.add_argument("--model-name", default="colorizer", help="served model name")
    client.add_argument("--version", type=int, help="model version (default: the latest)")
    client.add_argument("--samples", type=int, default=1, help="colourings per photo (GAN)")
    client.add_argument("--seed", type=int, help="first seed (GAN); default random")
    client.add_argument("--batch-size", type=int, default=4, help="photos per request")
    client.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    client.add_argument("--format", choices=("png", "jpg"), default="png")
    client.add_argument("--force", action="store_true", help="replace existing outputs")


def run(args: argparse.Namespace) -> int:
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
    return options.run_jobs(
        args,
        lambda planned: jobs.colorize_served(
            client,
            planned,
            samples=args.samples,
            seed=args.seed,
            batch_size=args.batch_size,
            fmt=args.format,
            force=args.force,
            max_pixels=options.max_pixels(args),
        ),
    )
