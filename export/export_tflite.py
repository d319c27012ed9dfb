"""Export TFLite variants with a report: ``kcolor export --format tflite``.

Usage:
    python export/export_tflite.py -o tflite [--model gan] [--variants float32 float16
        dynamic-int8 int8] [--input-size 256 | 0] --representative PHOTOS ...
        [--report-photos PHOTOS ...] [--report report.json]

Writes tflite/NAME_<variant>.tflite (builtin ops only) and prints, per variant, the file
size, the latency per image (2 threads, XNNPACK) and the agreement with the Keras model.
"""

import sys

from kcolor import cli

if __name__ == "__main__":
    sys.exit(cli.main(["export", "--format", "tflite", *sys.argv[1:]]))
