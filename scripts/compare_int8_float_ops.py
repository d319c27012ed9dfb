"""Which op types the int8 TFLite variant must keep in float: convert a model to int8
with different float sets and compare each with the Keras model on photos.

Usage:
    python scripts/compare_int8_float_ops.py PHOTOS ... [--model NAME|PATH]
        [--calibration 50] [--compare 20] [--input-size 256] [--json FILE]

The first --calibration photos calibrate, the next --compare photos are compared on.
Prints, per float set: the op types, latency per image, ab RMSE and the PSNR difference
against the Keras model (positive: the int8 model lost quality). Float sets: the
histogram decoding only, decoding + the whole hypercolumn assembly (what kcolor ships),
and decoding + each assembly op alone.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from kcolor import inference, outputs
from kcolor.data import sources
from kcolor.deploy import tflite


def float_sets() -> dict:
    sets = {"decoding": tflite.DECODING_OPS, "decoding+assembly": tflite.FLOAT_OPS}
    for op in tflite.ASSEMBLY_OPS:
        sets[f"decoding+{op}"] = tflite.DECODING_OPS + (op,)
    return sets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", help="photo files, folders or globs")
    parser.add_argument("--model", default=None, help="bundled model name or .keras file")
    parser.add_argument("--calibration", type=int, default=50)
    parser.add_argument("--compare", type=int, default=20)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--json", help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    paths = [path for found in sources.resolve_sources(args.photos) for path in found.images]
    calibration = paths[: args.calibration]
    compared = paths[args.calibration : args.calibration + args.compare]
    if not calibration or not compared:
        parser.error(f"need more than {args.calibration} photos; found {len(paths)}")
    model = inference.load_model(args.model)
    representative = tflite.representative_inputs(calibration, args.input_size)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, ops in float_sets().items():
            flatbuffer = tflite.convert(model, "int8", args.input_size, representative, ops)
            path = Path(scratch) / f"{name}.tflite"
            path.write_bytes(flatbuffer)
            row = {"float_set": name, "float_ops": list(ops)}
            row["latency_ms"] = 1000 * tflite.latency_seconds(path, args.input_size)
            row.update(tflite.agreement(model, path, compared, args.input_size))
            rows.append(row)
            print(
                f"{name:<28}{row['latency_ms']:>8.1f} ms  ab RMSE {row['ab_rmse']:7.3f}  "
                f"PSNR loss {row['psnr_difference']:+.3f} dB  ({row['photos']} photos)",
                flush=True,
            )
    if args.json:
        text = json.dumps(rows, indent=2).encode()
        outputs.write_atomically(args.json, lambda handle: handle.write(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
