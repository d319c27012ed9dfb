"""Export a model as a SavedModel in TF Serving's layout: ``kcolor export --format savedmodel``.

Usage:
    python export/export_savedmodel.py -o models [--model gan --name colorizer_gan]
        [--version N] [--size 256] [--warmup PHOTOS ...] [--overwrite]

Writes models/NAME/VERSION/ (graph, variables, assets.extra/tf_serving_warmup_requests,
assets.extra/export_info.json) and checks the export against the Keras model.
"""

import sys

from kcolor import cli

if __name__ == "__main__":
    sys.exit(cli.main(["export", "--format", "savedmodel", *sys.argv[1:]]))
