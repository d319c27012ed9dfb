"""Inference speed by precision, pipelined ``kcolor colorize``, and grouped serving.

Each row is measured against the float32 path as ``kcolor colorize`` and the SavedModel
ran it before precision choice, pipelining and grouping existed, in the same run:

* ``precision-*``: the network alone at 256x256, one photo per call;
* ``colorize-*``: ``kcolor colorize``'s work on 24 photos of 768x512 (PNG in, PNG out),
  after the model is loaded and has seen one photo (process start and the int8
  conversion on first use are reported apart);
* ``serving-grouped``: ``serving_default`` on a request of eight 256x256 PNGs.

The model is the bundled default (hypercolumn) model; ``--quick`` uses a small untrained
one, and small photos, only to check that the benchmark runs.
"""

import io
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.photos import photo_set
from benchmarks.timing import median_seconds
from kcolor import api

PHOTOS = 24


def _model(args):
    from kcolor import inference
    from kcolor.models import HypercolumnColorizer

    if args.quick:
        return HypercolumnColorizer(taps=["block1_conv2", "block3_conv3"], head_units=16, seed=0)
    return inference.load_model("default")


def _photos(args, folder: Path, count: int, size: tuple[int, int]) -> tuple[list[str], str]:
    """``count`` PNG photos of ``size`` (width, height): BSDS500 val photos resized when
    they are at hand, smooth random colour fields otherwise."""
    from PIL import Image

    bsds_val = photo_set("bsds500", "val")
    sources = sorted(bsds_val.glob("*.jpg"))[:count] if bsds_val else []
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        if len(sources) == count:
            image = Image.open(sources[index]).convert("RGB").resize(size, Image.LANCZOS)
        else:
            small = rng.uniform(0, 255, (6, 9, 3)).astype(np.uint8)
            image = Image.fromarray(small).resize(size, Image.BICUBIC)
        paths.append(str(folder / f"{index:02d}.png"))
        image.save(paths[-1])
    origin = "BSDS500 val photos resized" if len(sources) == count else "smooth random images"
    return paths, f"{count} {origin} to {size[0]}x{size[1]} PNG"


def _row(name, work, ours, baseline, ours_label, baseline_label, **extra) -> dict:
    return {
        "name": name,
        "work": work,
        "kcolor": ours_label,
        "baseline": baseline_label,
        "ratio": baseline / ours,
        "kcolor_seconds": ours,
        "baseline_seconds": baseline,
        **extra,
    }


def bench_precision(args) -> list[dict]:
    """The network at 256x256 in bfloat16 and int8 against float32."""
    import tensorflow as tf

    from kcolor import inference, precision

    model = _model(args)
    side = 64 if args.quick else 256
    repeats = 2 if args.quick else 10
    l_norm = tf.random.stateless_uniform((1, side, side, 1), (0, 0), -0.6, 0.8)
    float32 = inference.Colorizer(model, side, "float32")
    baseline = median_seconds(lambda: float32.predict_ab(l_norm).numpy(), repeats)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for chosen in ("bfloat16", "int8"):
            start = time.perf_counter()
            colorizer = _with_cache(cache, api.make_colorizer, model, side, chosen)
            _with_cache(cache, colorizer.predict_ab, l_norm)  # converts, for int8
            setup = time.perf_counter() - start
            seconds = median_seconds(lambda c=colorizer: np.asarray(c.predict_ab(l_norm)), repeats)
            rows.append(
                _row(
                    f"precision-{chosen}",
                    f"the network alone, {side}x{side}, one photo per call; {chosen} "
                    f"(set-up {setup:.1f} s, the int8 conversion included)",
                    seconds,
                    baseline,
                    f"{seconds * 1000:.0f} ms/photo",
                    f"{baseline * 1000:.0f} ms/photo in float32",
                    native_bfloat16=precision.native_bfloat16(),
                    setup_seconds=setup,
                )
            )
    return rows


def _with_cache(folder, function, *arguments):
    """Call ``function`` with the user cache in ``folder``: the benchmark neither uses
    nor leaves behind cached conversions."""
    import os

    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = folder
    try:
        return function(*arguments)
    finally:
        if previous is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = previous


def _unpipelined_float32(paths, model, output: Path, size: int) -> None:
    """``kcolor colorize`` as it ran before pipelining and precision choice: one photo
    at a time, the Keras model called eagerly in float32, ab joined with the photo's
    lightness by eager TensorFlow ops, PNG written at Pillow's default level (6)."""
    from PIL import Image

    from kcolor import inference

    colorizer = inference.Colorizer(model, size, "float32")
    for path in paths:
        rgb = inference.read_image(path)
        ab = np.asarray(model(colorizer.model_input(rgb), training=False))[0]
        height, width = rgb.shape[:2]
        colored = np.empty_like(rgb)
        for top in range(0, height, 512):
            bottom = min(top + 512, height)
            ab_rows = inference.upsample_rows(ab, height, width, top, bottom)
            strip = inference.color_pixels(rgb[top:bottom], ab_rows)
            colored[top:bottom] = inference.to_uint8(strip).numpy()
        target = output / Path(path).name
        Image.fromarray(colored).save(target, "PNG")


def bench_colorize_speed(args) -> list[dict]:
    """``kcolor colorize``'s whole path by precision, against the unpipelined float32
    loop, on 24 photos of 768x512."""
    from kcolor import jobs as batch

    model = _model(args)
    count, size = (3, (96, 64)) if args.quick else (PHOTOS, (768, 512))
    side = 32 if args.quick else 256
    rows = []
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory() as cache:
        scratch = Path(scratch)
        paths, origin = _photos(args, scratch, count, size)

        def baseline_run(run):
            folder = scratch / f"baseline{run}"
            folder.mkdir()
            _unpipelined_float32(paths[:1], model, folder, side)  # warm-up
            (folder / Path(paths[0]).name).unlink()
            start = time.perf_counter()
            _unpipelined_float32(paths, model, folder, side)
            return time.perf_counter() - start

        def pipelined_run(colorizer, run):
            warm, _ = batch.plan_jobs(paths[:1], scratch / f"warm{run}")
            batch.colorize_files(warm, colorizer, progress=False)
            jobs, _ = batch.plan_jobs(paths, scratch / f"out{run}")
            start = time.perf_counter()
            report = batch.colorize_files(jobs, colorizer, progress=False)
            seconds = time.perf_counter() - start
            assert len(report.written) == count, report.failed
            return seconds

        baseline = baseline_run(0)
        for run, chosen in enumerate(("float32", "auto", "int8"), start=1):
            colorizer = _with_cache(cache, api.make_colorizer, model, side, chosen)
            seconds = _with_cache(cache, pipelined_run, colorizer, run)
            rows.append(
                _row(
                    f"colorize-{chosen}",
                    f"kcolor colorize, {origin}, size {side}, pipelined, precision "
                    f"{chosen} ({colorizer.precision})",
                    seconds,
                    baseline,
                    f"{seconds:.2f} s ({count / seconds:.2f} photos/s)",
                    f"{baseline:.2f} s, unpipelined float32",
                    photos=count,
                )
            )
        rows[-1]["baseline_again_seconds"] = baseline_run(len(rows) + 1)
    return rows


def bench_serving(args) -> list[dict]:
    """``serving_default`` grouping photos by processing size, against the same graph
    run one photo at a time in ``tf.map_fn`` (the earlier SavedModel)."""
    import tensorflow as tf

    from kcolor.deploy import export

    model = _model(args)
    count, side = (3, 64) if args.quick else (8, 256)
    graph = export.ServingGraph(model, side)
    with tempfile.TemporaryDirectory() as scratch:
        paths, origin = _photos(args, Path(scratch), count, (side, side))
        request = tf.constant([Path(path).read_bytes() for path in paths])
    seeds = tf.zeros([count], tf.int64)
    grouped = tf.function(graph.colorize_encoded)
    string = tf.TensorSpec([], tf.string)

    @tf.function
    def per_photo(image_bytes, photo_seeds):
        def one(element):
            png, error = graph.colorize_encoded(element[0][None], element[1][None])
            return png[0], error[0]

        return tf.map_fn(one, (image_bytes, photo_seeds), fn_output_signature=(string, string))

    repeats = 1 if args.quick else 3
    ours = median_seconds(lambda: grouped(request, seeds)[0].numpy(), repeats)
    baseline = median_seconds(lambda: per_photo(request, seeds)[0].numpy(), repeats)
    same = _same_pngs(grouped(request, seeds)[0].numpy(), per_photo(request, seeds)[0].numpy())
    return [
        _row(
            "serving-grouped",
            f"serving_default on one request of {origin}, float32 graph; outputs equal "
            f"to the per-photo graph's within 1 level: {same}",
            ours,
            baseline,
            f"{ours * 1000:.0f} ms/request, one network call per size",
            f"{baseline * 1000:.0f} ms/request, per photo in tf.map_fn",
            equal_outputs=same,
        )
    ]


def _same_pngs(first, second) -> bool:
    from PIL import Image

    for one, other in zip(first, second, strict=True):
        a = np.asarray(Image.open(io.BytesIO(one)), np.int16)
        b = np.asarray(Image.open(io.BytesIO(other)), np.int16)
        if a.shape != b.shape or np.abs(a - b).max() > 1:
            return False
    return True


def bench_png(args) -> list[dict]:
    """Writing PNG at the level kcolor uses against Pillow's default level (6)."""
    from PIL import Image

    from kcolor.outputs import ENCODER_OPTIONS

    level = ENCODER_OPTIONS["png"]["compress_level"]
    count, size = (3, (96, 64)) if args.quick else (PHOTOS, (768, 512))
    with tempfile.TemporaryDirectory() as scratch:
        paths, origin = _photos(args, Path(scratch), count, size)
        images = [np.asarray(Image.open(path).convert("RGB")) for path in paths]

    def encode(compress_level):
        sizes = []
        for pixels in images:
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, "PNG", compress_level=compress_level)
            sizes.append(buffer.tell())
        return sum(sizes)

    repeats = 1 if args.quick else 3
    ours, baseline = (
        median_seconds(lambda: encode(level), repeats),
        median_seconds(lambda: encode(6), repeats),
    )
    ours_bytes, baseline_bytes = encode(level), encode(6)
    return [
        _row(
            "png-level",
            f"PNG encoding of {origin}; files {ours_bytes / baseline_bytes - 1:+.1%} in size",
            ours,
            baseline,
            f"{ours * 1000 / count:.1f} ms/photo at level {level} ({ours_bytes / 1e6:.1f} MB)",
            f"{baseline * 1000 / count:.1f} ms/photo at level 6 ({baseline_bytes / 1e6:.1f} MB)",
            bytes=ours_bytes,
            baseline_bytes=baseline_bytes,
        )
    ]
