"""``kcolor make-tfrecords``: shard folders of images into TFRecord files."""

import argparse


def add_parser(commands) -> None:
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


def run(args: argparse.Namespace) -> int:
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
