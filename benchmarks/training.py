"""Training throughput of ``kcolor train``'s models: precision and input format.

Each model is built exactly as ``kcolor train MODEL`` builds it (default settings and
size) and trained with ``fit`` on ``lab_dataset`` batches. Four set-ups per model:
float32 or mixed_bfloat16, image files or TFRecord shards of the same photos. The
baseline of each row is float32 on image files, timed in the same run; the timed fits of
all four set-ups alternate, so a slow spell of the machine hits each of them, and each
is timed from its third step on, so starting an iterator does not count.
"""

import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

_QUICK_ARGS = {
    "hypercolumn": {"trunk_weights": None, "taps": ["block1_conv2"], "head_units": 8, "bins": 8},
    "gan": {
        "generator": {"filters": [8], "kernel_sizes": [3, 3], "noise_layers": 1},
        "critic": {"filters": [4], "dense_units": 4},
    },
}


def _photos(args, scratch: Path, count: int) -> tuple[list[str], str]:
    from benchmarks.photos import synthetic_jpegs
    from kcolor.data import sources

    if args.data and Path(args.data).is_dir():
        everything = sources.resolve_source(args.data).images
        picks = np.random.default_rng(0).choice(len(everything), count, replace=False)
        return [everything[i] for i in sorted(picks)], f"{count} photos from {args.data}"
    return synthetic_jpegs(scratch, count), f"{count} synthetic JPEGs"


def _setups(model_name, args, files, shards):
    """(label, model, dataset, batch) for each precision x input, built like kcolor train."""
    import keras

    from kcolor import data, training
    from kcolor.training import config as run_config

    setups = []
    for precision in ("float32", "mixed_bfloat16"):
        values = {"model": model_name, "data": files, "mixed_precision": precision}
        if args.quick:
            values.update(model_args=_QUICK_ARGS[model_name], image_size=16, batch_size=4)
        config = run_config.from_dict(values).resolved()
        keras.mixed_precision.set_global_policy(precision)
        try:
            model = training.build_model(config)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        for source_name, source in (("files", files), ("tfrecord", shards)):
            dataset = data.lab_dataset(
                source, config.image_size, config.batch_size, seed=0
            ).repeat()
            setups.append((f"{precision}, {source_name}", model, dataset, config))
    return setups


class _StepClock(keras.callbacks.Callback):
    """Seconds from the end of the first ``skip`` batches to the end of the last one, so
    that starting the data iterator and filling its buffers do not count."""

    def __init__(self, skip):
        super().__init__()
        self.skip = skip
        self.start = self.seconds = None

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.skip:
            self.start = time.perf_counter()
        elif batch + 1 > self.skip:
            self.seconds = time.perf_counter() - self.start


def _bench_model(model_name, args, files, shards, origin) -> list[dict]:
    setups = _setups(model_name, args, files, shards)
    steps, repeats = (1, 1) if args.quick else ((10, 3) if model_name == "hypercolumn" else (3, 3))
    skip = 2
    for _, model, dataset, _ in setups:
        model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # tracing
    rates = {label: [] for label, *_ in setups}
    for _ in range(repeats):
        for label, model, dataset, config in setups:
            clock = _StepClock(skip)
            model.fit(
                dataset,
                steps_per_epoch=skip + steps,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[clock],
            )
            rates[label].append(steps * config.batch_size / clock.seconds)
    medians = {label: statistics.median(values) for label, values in rates.items()}
    baseline_label = "float32, files"
    config = setups[0][3]
    rows = []
    for label, rate in medians.items():
        if label == baseline_label:
            continue
        rows.append(
            {
                "name": f"train-{model_name}",
                "work": f"kcolor train {model_name} defaults, {config.image_size}x"
                f"{config.image_size}, batch {config.batch_size}, {origin}: {label}",
                "kcolor": f"{rate:.2f} images/s",
                "baseline": f"{medians[baseline_label]:.2f} images/s ({baseline_label})",
                "ratio": rate / medians[baseline_label],
                "setup": label,
                "images_per_second": rate,
                "baseline_images_per_second": medians[baseline_label],
            }
        )
    return rows


def bench_training(args) -> list[dict]:
    """Training images/s per model: bfloat16 and TFRecord input against float32 files."""
    from kcolor.data import tfrecords

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        files, origin = _photos(args, scratch, 32 if args.quick else 512)
        tfrecords.write_tfrecords(files, scratch / "shards", progress=False)
        shards = sorted(str(path) for path in (scratch / "shards").glob("*.tfrecord"))
        return [
            row
            for model_name in ("hypercolumn", "gan")
            for row in _bench_model(model_name, args, files, shards, origin)
        ]
