"""The ``kcolor`` console command."""

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    from kcolor import __version__

    parser = argparse.ArgumentParser(
        prog="kcolor",
        description="Automatic colorization of grayscale photographs (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"kcolor {__version__}")
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
    return parser


def _make_tfrecords(args: argparse.Namespace) -> int:
    from kcolor import tfrecords

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
    handlers = {"make-tfrecords": _make_tfrecords}
    try:
        return handlers[args.command](args)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"kcolor {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
