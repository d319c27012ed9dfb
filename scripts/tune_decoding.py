"""Score a hypercolumn model's decoding settings on a held-out folder of colour photos.

Prints one row per setting: PSNR, AuC and colorfulness of the model, and the photos' own
colorfulness, so the chroma ``boost`` can be chosen on photos other than the ones
reported (the bundled model's was chosen on Imagenette val, then measured on bsds500/val).

Example:
    python scripts/tune_decoding.py runs/hc/model.keras held_out_photos/ \\
        --boosts 1.0 1.25 1.5 --temperatures 1.0 0.7 --decodings median expectation
"""

import argparse
import itertools
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a hypercolumn .keras file or bundled name")
    parser.add_argument("photos", nargs="+", help="held-out colour photos (folders, globs)")
    parser.add_argument("--boosts", nargs="+", type=float, default=[1.0, 1.25, 1.5, 1.75])
    parser.add_argument("--decodings", nargs="+", default=["median"])
    parser.add_argument("--temperatures", nargs="+", type=float, default=[1.0])
    parser.add_argument("--limit", type=int, help="score this many photos, drawn at random")
    parser.add_argument("--size", type=int, default=256, help="processing size")
    args = parser.parse_args(argv)

    from kcolor import evaluation, inference
    from kcolor.models import HypercolumnColorizer

    model = inference.load_model(args.model)
    if not isinstance(model, HypercolumnColorizer):
        parser.error("decoding settings belong to the hypercolumn model")
    photos = evaluation.photos_of(args.photos, args.limit)
    settings = itertools.product(args.decodings, args.temperatures, args.boosts)
    for decoding, temperature, boost in settings:
        model.decoding, model.temperature, model.boost = decoding, temperature, boost
        colorizer = inference.Colorizer(model, args.size)
        report, _ = evaluation.evaluate_files(photos, colorizer, progress=False)
        scores = {key: round(report["model"][key], 3) for key in ("psnr", "auc")}
        colorfulness = round(report["model"]["colorfulness"], 2)
        row = {"decoding": decoding, "temperature": temperature, "boost": boost, **scores}
        row |= {
            "colorfulness": colorfulness,
            "photos": round(report["photo_colorfulness"], 2),
            "no_colour_psnr": round(report["no_colour"]["psnr"], 3),
            "mean_tint_psnr": round(report["mean_tint"]["psnr"], 3),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
