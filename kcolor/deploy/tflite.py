"""TFLite (LiteRT) export for devices, and running the result with ``ai-edge-litert``.

The TFLite model is the network alone, with a float interface in every variant:

* input ``lightness``: float32 (1, S, S, 1), Lab L in [0, 100], at the processing size
  (``S`` fixed at export, or any height and width for a resizable model; the
  hypercolumn model needs sides divisible by 16);
* GAN only, input ``noise``: float32 (1, C), uniform in [-1, 1], one colouring per draw;
* output ``ab``: float32 (1, S, S, 2), Lab a and b at the same size.

Decoding, resizing and the Lab/RGB conversions stay on the device's side (they are
cheap, and 8-bit quantization of them would cost accuracy), as :class:`LiteColorizer`
does for the report. Conversion allows builtin ops only, so it fails rather than
emitting TensorFlow (Flex) ops that a device runtime lacks.

Variants: ``float32``; ``float16`` (weights stored as float16); ``dynamic-int8``
(int8 weights, float activations); ``int8`` (convolutions and dense layers with int8
weights and activations, calibrated on representative photos; the hypercolumn's
assembly and histogram decoding stay float, see :data:`FLOAT_OPS`; float input and
output).
"""

import os
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kcolor import color, images, inference, metrics, outputs
from kcolor.errors import ConfigError, ConversionError, ModelFileError
from kcolor.models.base import noise_of_seeds, sample_seeds

VARIANTS = ("float32", "float16", "dynamic-int8", "int8")
SIGNATURE = "colorize"
# Op types the int8 variant keeps in float; the convolutions and dense layers (nearly all
# the arithmetic) run in int8. The histogram decoding (softmax to ab) must stay float:
# int8 division by a near-zero probability mass fails at run time. With only those in
# float the hypercolumn model lost about 1.8 dB PSNR against Keras; the hypercolumn's
# assembly (tap scaling, pooling and upsampling of the projected maps, and their sum)
# in float too brought that to about 0.05 dB, and none of its ops alone did
# (scripts/compare_int8_float_ops.py measures it; docs/results.md has the figures).
DECODING_OPS = (
    "SOFTMAX", "CUMSUM", "DIV", "SQRT", "SUM", "GATHER", "LESS", "CAST", "SELECT",
    "MINIMUM", "MAXIMUM", "SUB",
)  # fmt: skip
ASSEMBLY_OPS = ("MUL", "AVERAGE_POOL_2D", "RESIZE_BILINEAR", "ADD")
FLOAT_OPS = DECODING_OPS + ASSEMBLY_OPS


def stretched_input(rgb, side: int):
    """uint8 RGB (H, W, 3) -> ``l_norm`` (1, side, side, 1): the photo stretched to a
    fixed-size TFLite model's square input."""
    small = images.resize_image(tf.convert_to_tensor(rgb)[None], (side, side))
    l_norm, _ = color.rgb_to_model_lab(tf.clip_by_value(small / 255.0, 0.0, 1.0))
    return l_norm


def _input_shape(input_size) -> tuple:
    """``(height, width)`` of the model input: a side, a ``(height, width)`` pair, or
    None (any size)."""
    if isinstance(input_size, tuple | list):
        return tuple(int(side) for side in input_size)
    side = input_size or None
    return side, side


def _archive(model, input_size) -> keras.export.ExportArchive:
    inference.Colorizer(model)  # checks the model type
    network = model.colorizing_network()
    height, width = _input_shape(input_size)
    specs = [tf.TensorSpec([1, height, width, 1], tf.float32, name="lightness")]
    archive = keras.export.ExportArchive()
    archive.track(network)
    if not network.diverse:

        def colorize(lightness):
            ab_norm = network.predict_ab(color.normalize_l(lightness))
            return {"ab": color.denormalize_ab(ab_norm)}

    else:
        specs.append(tf.TensorSpec([1, network.noise_channels], tf.float32, name="noise"))

        def colorize(lightness, noise):
            ab_norm = network.predict_ab(color.normalize_l(lightness), noise)
            return {"ab": color.denormalize_ab(ab_norm)}

    archive.add_endpoint(SIGNATURE, colorize, input_signature=specs)
    return archive


def representative_inputs(photos, input_size: int, count: int = 100, noise_channels=None):
    """Calibration inputs for the ``int8`` variant: a generator factory over up to
    ``count`` photos' lightness at ``input_size`` (plus a noise draw for the GAN)."""
    rng = np.random.default_rng(0)
    lightness = []
    for path in list(photos)[:count]:
        l_norm = stretched_input(inference.read_image(path), input_size)
        lightness.append(color.denormalize_l(l_norm).numpy())
    if not lightness:
        raise ConversionError("the int8 variant needs representative photos; none were read")

    def generate():
        for plane in lightness:
            sample = {"lightness": plane}
            if noise_channels:
                sample["noise"] = rng.uniform(-1, 1, (1, noise_channels)).astype("float32")
            yield sample

    return generate


def convert(
    model,
    variant: str,
    input_size: int | tuple[int, int] | None = 256,
    representative=None,
    float_ops=FLOAT_OPS,
) -> bytes:
    """Convert ``model`` to a TFLite flatbuffer.

    Args:
        model: a colorization model (hypercolumn, GAN or generator).
        variant: one of :data:`VARIANTS`.
        input_size: the side of the square input, a ``(height, width)`` pair, or None
            for a resizable input (slower under XNNPACK than a fixed-size input: see
            docs/results.md).
        representative: for ``int8``, a generator factory (:func:`representative_inputs`).
        float_ops: for ``int8``, the TFLite op types kept in float.

    Raises:
        ConversionError: unknown variant, missing calibration data, or an op that is
            not a TFLite builtin.
    """
    if variant not in VARIANTS:
        raise ConversionError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if variant == "int8" and representative is None:
        raise ConversionError("the int8 variant needs representative photos to calibrate on")
    with tempfile.TemporaryDirectory(prefix="kcolor-tflite-") as folder:
        _archive(model, input_size).write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE])
        # Builtins only: a Flex (TensorFlow) op would load nowhere but a full TF runtime.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if variant != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        try:
            with warnings.catch_warnings():
                # TensorFlow's calibrator runs its own deprecated tf.lite.Interpreter; the
                # warning is about TensorFlow's code, not this conversion.
                warnings.filterwarnings("ignore", "[\\s\\S]*tf.lite.Interpreter is deprecated")
                if variant == "int8":
                    return _full_integer(converter, representative, float_ops)
                return converter.convert()
        except Exception as error:  # the converter raises several unrelated types
            raise ConversionError(f"{variant} conversion failed: {error}") from error


def _full_integer(converter, representative, float_ops) -> bytes:
    # The quantization debugger is TensorFlow's way to keep chosen op types float; every
    # op stays a TFLite builtin (float kernels are builtins too, never Flex).
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,
    ]
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(float_ops))
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative, debug_options=options
    )
    return debugger.get_nondebug_quantized_model()


def signature_runner(path: str, num_threads: int = 2):
    """The ``colorize`` signature of a TFLite file, run by ``ai-edge-litert`` (XNNPACK)."""
    from ai_edge_litert.interpreter import Interpreter

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    try:
        interpreter = Interpreter(model_path=path, num_threads=num_threads)
    except ValueError as error:
        raise ModelFileError(f"{path}: not a TFLite model file ({error})") from error
    try:
        return interpreter.get_signature_runner(SIGNATURE)
    except ValueError as error:
        raise ModelFileError(
            f"{path}: a TFLite model without kcolor's {SIGNATURE!r} signature (export one "
            "with kcolor export --format tflite)"
        ) from error


class TFLiteModel:
    """A kcolor ``.tflite`` file, opened (what :func:`kcolor.load_model` gives for one).

    Attributes:
        path: the file.
        runner: its ``colorize`` signature runner.
        fixed_side: the side of a fixed-size model's square input; None when resizable.
        noise_channels: length of the noise vector (0: one colouring per image).
        diverse: whether it takes noise (a GAN).

    Raises:
        FileNotFoundError, ModelFileError: naming the file.
    """

    def __init__(self, path, num_threads: int = 2):
        self.path = os.fspath(path)
        self.runner = signature_runner(self.path, num_threads)
        details = self.runner.get_input_details()
        side = int(details["lightness"]["shape_signature"][1])
        self.fixed_side = side if side > 0 else None
        self.noise_channels = int(details["noise"]["shape"][1]) if "noise" in details else 0
        self.diverse = self.noise_channels > 0


class LiteColorizer(inference.BaseColorizer):
    """A TFLite colorizer run with ``ai-edge-litert`` (XNNPACK on CPU).

    It is a :class:`kcolor.inference.BaseColorizer`, so
    :func:`kcolor.inference.compose` turns its predictions into full-size photos and
    ``kcolor colorize`` / ``kcolor evaluate --model FILE.tflite`` run it.

    Args:
        model: the ``.tflite`` file, or a :class:`TFLiteModel`.
        size: processing size (shorter side) for a resizable model; a fixed-size model
            always runs at its own size (photos are stretched to it).
        num_threads: CPU threads (when ``model`` is a file).
    """

    precision = "tflite"

    def __init__(self, model, size: int = 256, num_threads: int = 2):
        if not isinstance(model, TFLiteModel):
            model = TFLiteModel(model, num_threads)
        self.path = model.path
        self.runner = model.runner
        self.fixed_side = model.fixed_side
        self.noise_channels = model.noise_channels
        self.diverse = model.diverse
        self.size = self.fixed_side or size
        self.multiple = 1 if self.diverse else 16

    def runner_for(self, height: int, width: int):
        """The signature runner for inputs of ``height`` x ``width``."""
        return self.runner

    def model_input(self, rgb):
        """uint8 RGB (H, W, 3) -> ``l_norm`` (1, h, w, 1) at the processing size."""
        if self.fixed_side is None:
            return inference.lightness_input(
                tf.convert_to_tensor(rgb)[None], self.size, self.multiple
            )
        return stretched_input(rgb, self.fixed_side)

    def _predict_ab(self, l_norm, samples: int, seed: int):
        # One image at a time: the TFLite model's batch is 1.
        lightness = color.denormalize_l(l_norm).numpy()
        if self.diverse:
            # The same noise as every other colorize path (kcolor.models.gan).
            noise = noise_of_seeds(sample_seeds(1, samples, seed), self.noise_channels).numpy()
        runner = self.runner_for(*lightness.shape[1:3])
        images = []
        for image in lightness:
            colorings = []
            for k in range(samples):
                inputs = {"lightness": image[None]}
                if self.diverse:
                    inputs["noise"] = noise[k : k + 1]
                colorings.append(runner(**inputs)["ab"][0] / color.AB_SCALE)
            images.append(np.stack(colorings))
        return tf.constant(np.stack(images))


def latency_seconds(path, input_size: int, repeats: int = 10, num_threads: int = 2) -> float:
    """Median seconds per image of a TFLite model at ``input_size`` square, after a
    warm-up call (XNNPACK packs weights on the first)."""
    colorizer = LiteColorizer(path, size=input_size, num_threads=num_threads)
    l_norm = tf.zeros((1, input_size, input_size, 1)) + 0.1
    colorizer.predict_ab(l_norm)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        colorizer.predict_ab(l_norm, seed=0)
        timings.append(time.perf_counter() - start)
    return float(np.median(timings))


def agreement(model, path, photos, size: int = 256) -> dict:
    """How a TFLite model's colourings differ from the Keras model's on ``photos``.

    Both get the same input (the TFLite model's processing size) and, for the GAN, the
    same noise; their ab is composed with each photo's full-size lightness.

    Returns:
        ``{"photos", "ab_rmse"}`` (Lab units, at the processing size), ``"psnr_keras"``,
        ``"psnr_tflite"`` (dB against the original photos) and ``"psnr_difference"``
        (Keras minus TFLite: positive means TFLite lost quality).
    """
    lite = LiteColorizer(path, size=size)
    keras_colorizer = inference.Colorizer(model, size)
    squared, psnr_keras, psnr_lite = [], [], []
    for photo in photos:
        rgb = inference.read_image(photo)
        l_norm = lite.model_input(rgb)
        # Seed 0: for the GAN, both draw the same noise.
        ab_lite = lite.predict_ab(l_norm, seed=0)[0, 0]
        ab_keras = keras_colorizer.predict_ab(l_norm, seed=0)[0, 0]
        squared.append(float(np.mean(np.square((ab_lite - ab_keras) * color.AB_SCALE))))
        psnr_keras.append(float(metrics.psnr(inference.compose(rgb, ab_keras), rgb)))
        psnr_lite.append(float(metrics.psnr(inference.compose(rgb, ab_lite), rgb)))
    if not squared:
        raise ConfigError("no photos to compare on")
    return {
        "photos": len(squared),
        "ab_rmse": float(np.sqrt(np.mean(squared))),
        "psnr_keras": float(np.mean(psnr_keras)),
        "psnr_tflite": float(np.mean(psnr_lite)),
        "psnr_difference": float(np.mean(psnr_keras) - np.mean(psnr_lite)),
    }


def export_variants(
    model,
    output_dir,
    variants=VARIANTS,
    *,
    input_size: int | None = 256,
    representative_photos=(),
    name: str = "colorizer",
    overwrite: bool = False,
) -> dict:
    """Write ``output_dir/NAME_<variant>.tflite`` for each variant (atomically).

    Returns:
        ``{variant: path}``.

    Raises:
        ConversionError: see :func:`convert`; FileExistsError: an output exists and
        ``overwrite`` is off (checked before anything is converted).
    """
    output_dir = Path(output_dir)
    paths = {
        variant: output_dir / f"{name}_{variant.replace('-', '_')}.tflite" for variant in variants
    }
    existing = [str(path) for path in paths.values() if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} exists (pass --overwrite to replace it)")
    representative = None
    if "int8" in variants:
        side = input_size or 256
        channels = model.noise_channels or None
        representative = representative_inputs(representative_photos, side, noise_channels=channels)
    for variant, path in paths.items():
        flatbuffer = convert(model, variant, input_size, representative)
        outputs.write_atomically(str(path), lambda handle, data=flatbuffer: handle.write(data))
    return paths


def export_report(
    model,
    output_dir,
    variants=VARIANTS,
    *,
    input_size: int | None = 256,
    representative_photos=(),
    report_photos=(),
    name: str = "colorizer",
    overwrite: bool = False,
    num_threads: int = 2,
) -> dict:
    """Export the variants and measure each: file size, latency per image at the input
    size (256 for a resizable model), and, on ``report_photos``, the agreement with the
    Keras model (:func:`agreement`).

    Returns:
        ``{"input_size", "threads", "photos", "variants": [{"variant", "path", "bytes",
        "latency_ms", ...agreement}]}``.
    """
    paths = export_variants(
        model,
        output_dir,
        variants,
        input_size=input_size,
        representative_photos=representative_photos,
        name=name,
        overwrite=overwrite,
    )
    side = input_size or 256
    rows = []
    for variant, path in paths.items():
        row = {
            "variant": variant,
            "path": str(path),
            "bytes": path.stat().st_size,
            "latency_ms": 1000 * latency_seconds(path, side, num_threads=num_threads),
        }
        if report_photos:
            row.update(agreement(model, path, report_photos, side))
        rows.append(row)
    return {
        "input_size": input_size,
        "threads": num_threads,
        "photos": len(report_photos),
        "variants": rows,
    }


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    side = report["input_size"] or "resizable"
    lines = [
        f"TFLite variants, input {side}, {report['threads']} threads (XNNPACK); "
        f"agreement with Keras on {report['photos']} photos",
        f"{'variant':<14}{'MB':>8}{'ms/image':>10}{'ab RMSE':>10}{'dPSNR dB':>10}",
    ]
    for row in report["variants"]:
        rmse = f"{row['ab_rmse']:.3f}" if "ab_rmse" in row else "-"
        difference = f"{row['psnr_difference']:+.3f}" if "psnr_difference" in row else "-"
        lines.append(
            f"{row['variant']:<14}{row['bytes'] / 1e6:>8.1f}{row['latency_ms']:>10.1f}"
            f"{rmse:>10}{difference:>10}"
        )
    return "\n".join(lines)
