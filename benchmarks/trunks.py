"""Hypercolumn trunks against the paper's VGG16: training photos/s and network latency.

For each trunk the full-size hypercolumn model (1024-unit head, 32 + 32 bins, the
trunk's default taps, random weights: speed does not depend on them) is measured on the
same inputs: training images/s of a sparse training step at 128x128 in mixed bfloat16
(batch 16, the bake-off's settings), and dense inference milliseconds per 256x256 photo
in float32, bfloat16 and as a dynamic-range int8 TFLite model. The baseline is VGG16 in
the same run, so the ratio column is each trunk's speed-up over it.
"""

import tempfile

from benchmarks.hypercolumn import lab_inputs
from benchmarks.timing import median_seconds

# name -> HypercolumnColorizer arguments; --quick uses narrow versions of each.
TRUNKS = {
    "vgg16": {"trunk": "vgg16"},
    "mobilenet_v2-1.0": {"trunk": "mobilenet_v2", "trunk_alpha": 1.0},
    "mobilenet-0.25": {"trunk": "mobilenet", "trunk_alpha": 0.25},
}
_QUICK = {
    "vgg16": {"trunk": "vgg16", "trunk_widths": [8, 16, 32, 64, 64], "head_units": 32},
    "mobilenet_v2-1.0": {"trunk": "mobilenet_v2", "trunk_alpha": 0.35, "head_units": 32},
    "mobilenet-0.25": {"trunk": "mobilenet", "trunk_alpha": 0.25, "head_units": 32},
}


def _model(arguments, policy):
    import keras

    from kcolor.models import HypercolumnColorizer

    keras.utils.set_random_seed(0)
    model = HypercolumnColorizer(**arguments, seed=0, dtype=policy)
    model.calibrate(lab_inputs(2, 64)[0])
    return model


def _training_rate(arguments, batch, size, repeats) -> float:
    import keras
    import tensorflow as tf

    model = _model(arguments, "mixed_bfloat16")
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(model.trainable_variables)
    l_norm, ab_norm = lab_inputs(batch, size)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = model.compute_loss(l_norm, ab_norm, model(l_norm, training=True))
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return batch / median_seconds(lambda: float(step()), repeats)


def _latencies(arguments, size, repeats, with_int8) -> dict:
    import tensorflow as tf

    from kcolor.deploy import tflite

    l_norm = lab_inputs(1, size)[0]
    result = {}
    for policy in ("float32", "mixed_bfloat16"):
        model = _model(arguments, policy)
        predict = tf.function(model.predict_ab)
        result[policy] = median_seconds(lambda: predict(l_norm).numpy(), repeats)  # noqa: B023
    result["int8"] = float("nan")
    if with_int8:
        with tempfile.TemporaryDirectory() as folder:
            model = _model(arguments, "float32")
            path = tflite.export_variants(model, folder, ["dynamic-int8"], input_size=size)
            result["int8"] = tflite.latency_seconds(path["dynamic-int8"], size, repeats)
    return result


def bench_trunks(args) -> list[dict]:
    """One row per small trunk: its training photos/s and latencies against VGG16's."""
    trunks = _QUICK if args.quick else TRUNKS
    size, batch = (64, 2) if args.quick else (128, 16)
    side = 64 if args.quick else 256
    repeats = 1 if args.quick else 5
    measured = {}
    for name, arguments in trunks.items():
        measured[name] = {
            "train": _training_rate(arguments, batch, size, repeats),
            # --quick leaves out the TFLite conversions, the slowest part by far.
            **_latencies(arguments, side, repeats, with_int8=not args.quick),
        }
    base = measured["vgg16"]

    def describe(values):
        return (
            f"{values['train']:.1f} train images/s; {values['float32'] * 1000:.0f} / "
            f"{values['mixed_bfloat16'] * 1000:.0f} / {values['int8'] * 1000:.0f} ms "
            "(float32 / bfloat16 / int8)"
        )

    rows = []
    for name, values in measured.items():
        if name == "vgg16":
            continue
        rows.append(
            {
                "name": f"trunk-{name}",
                "work": f"hypercolumn on {name}: training at {size}x{size} batch {batch} "
                f"(mixed bfloat16); one {side}x{side} photo",
                "kcolor": describe(values),
                "baseline": "vgg16: " + describe(base),
                "ratio": values["train"] / base["train"],
                "train_images_per_second": values["train"],
                "vgg16_train_images_per_second": base["train"],
                **{f"{key}_seconds": values[key] for key in ("float32", "mixed_bfloat16", "int8")},
                **{
                    f"vgg16_{key}_seconds": base[key]
                    for key in ("float32", "mixed_bfloat16", "int8")
                },
            }
        )
    return rows
