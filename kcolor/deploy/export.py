"""SavedModel export for TF Serving: the whole colorize path inside one graph.

The exported SavedModel holds, besides the weights, the same TensorFlow ops that
``kcolor colorize`` runs (decode, rounding to 8 bits, resize to the processing size,
Lab conversion, the model, ab upsampling to the photo's size, Lab to RGB), so a server
needs nothing but TensorFlow: no kcolor, no ``py_function``, no custom ops.

Signatures (B is the batch; the GAN's also take ``seed``, int64 (B,): the same seed
gives the same colouring, as ``kcolor colorize --seed``; different seeds give the
GAN's different colourings):

``serving_default``
    ``image_bytes``: string (B,), encoded JPEG/PNG/BMP/GIF/WebP of any sizes ->
    ``colorized_png_bytes``: string (B,), PNG of each photo at its own size (the
    ``_bytes`` suffix makes TF Serving's REST API send it base64-encoded), and
    ``error``: string (B,), empty for each colorized photo. A photo that cannot be
    decoded, or whose header declares more than the export's pixel limit, gets an empty
    PNG and the reason in ``error``; the other photos of the request are colorized.
    Photos that share a processing size run through the network as one batch.
``colorize_rgb``
    ``rgb``: float32 (B, H, W, 3), sRGB in [0, 1], channel order R, G, B ->
    ``ab``: float32 (B, H, W, 2), Lab a and b; ``rgb``: float32 (B, H, W, 3) in [0, 1].
``colorize_lightness``
    ``lightness``: float32 (B, H, W, 1), Lab L in [0, 100] -> the same outputs.

Float inputs are rounded to 8 bits first, as ``kcolor colorize`` rounds arrays, so
every signature computes the same function. EXIF orientation is not applied in the
graph: :mod:`kcolor.deploy.serving`'s clients send photos upright.
"""

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from kcolor import __version__, color, inference
from kcolor.data import decoding
from kcolor.errors import ExportError
from kcolor.limits import DEFAULT_MAX_PIXELS

# The serving_default contract: the inputs and outputs clients use by name.
IMAGE_BYTES = "image_bytes"
SEED = "seed"
PNG_OUTPUT = "colorized_png_bytes"
# Per photo: empty when it was colorized, else why not (its PNG is then empty).
ERROR_OUTPUT = "error"
WARMUP_FILE = "tf_serving_warmup_requests"
INFO_FILE = "export_info.json"
# The largest ab difference (Lab units) from the Keras model an export may have. Graph
# and eager float32 differ by the rounding of fused kernels, which grows with the size of
# the weights and the depth of the network (the guided GAN, two networks in series,
# reached 1.2e-4, docs/results.md); one 8-bit output level is about 0.4 Lab units, and
# an export that is wrong is off by whole units.
PARITY_TOLERANCE = 1e-2


# Processing shapes are named height * _KEY_BASE + width (sides stay far below it).
_KEY_BASE = 1 << 20


def _tensor_array(dtype, size, element_shape):
    """A TensorArray whose elements may differ in size (photos of several shapes)."""
    return tf.TensorArray(dtype, size, infer_shape=False, element_shape=element_shape)


class ServingGraph:
    """The colorize path of one model as graph functions with tensor arguments.

    Args:
        model: a :class:`~kcolor.models.HypercolumnColorizer`,
            :class:`~kcolor.models.DiverseColorGAN` or
            :class:`~kcolor.models.DiverseColorGenerator`.
        size: shorter side of the processing size, in pixels.
        max_pixels: photos declaring more pixels are refused (``serving_default``);
            None: no limit.
    """

    def __init__(
        self, model: keras.Model, size: int = 256, max_pixels: int | None = DEFAULT_MAX_PIXELS
    ):
        # The same checks and processing-size rule as ``kcolor colorize``.
        colorizer = inference.Colorizer(model, size)
        self.model = model
        self.size = size
        self.max_pixels = max_pixels
        self.multiple = colorizer.multiple
        self.diverse = colorizer.diverse
        self.network = model.colorizing_network()

    def predict_ab(self, l_norm, seeds):
        """``ab_norm`` (B, h, w, 2) for ``l_norm`` (B, h, w, 1); ``seeds`` int (B,)."""
        return self.network.seeded_ab(l_norm, seeds)

    def colorize_uint8(self, rgb, seeds):
        """uint8 (B, H, W, 3) photos of one size -> ``(ab, rgb)`` at that size: ab in
        Lab units (B, H, W, 2), RGB float32 in [0, 1] (B, H, W, 3)."""
        l_norm = inference.lightness_input(rgb, self.size, self.multiple)
        ab_norm = self.predict_ab(l_norm, seeds)
        ab_norm = tf.image.resize(ab_norm, tf.shape(rgb)[1:3])
        return color.denormalize_ab(ab_norm), inference.color_pixels(rgb, ab_norm)

    def colorize_encoded(self, image_bytes, seeds):
        """string (B,) encoded photos of any sizes -> ``(png, error)``, string (B,) each:
        the PNG of each photo alone and ``""``, or ``""`` and why it was not colorized.

        Photos that share a processing size run through the network together, one call
        per size (a GPU server then computes a request's photos as a batch); decoding,
        composing and encoding go one photo at a time, and a photo that cannot be decoded
        or is over the pixel limit fails alone.
        """
        count = tf.shape(image_bytes)[0]
        lightness, keys, errors = self._model_inputs(image_bytes, count)
        ab = self._predict_groups(lightness, keys, seeds, count)
        return self._encode_outputs(image_bytes, ab, keys, errors, count)

    # A photo that failed: a placeholder input, key -1 and the reason.
    @staticmethod
    def _failed(reason):
        return tf.zeros([1, 1, 1]), tf.constant(-1, tf.int64), reason

    def _refuse(self, shape):
        """The failure of a photo whose header declares ``shape`` over the pixel limit."""
        return self._failed(
            tf.strings.format(
                "{}x{} pixels is over the limit of {} pixels",
                (shape[1], shape[0], self.max_pixels),
            )
        )

    def _model_input(self, encoded):
        """``(l_norm (h, w, 1), processing-shape key, "")`` of an encoded photo, or its
        failure. Decoded under a guard: a broken photo fails alone, not the request."""
        guarded = decoding.try_process(
            "", encoded, lambda data: inference.to_uint8(decoding.decode_image_bytes(data))
        )
        _, _, rgb, succeeded = guarded.get_single_element()

        def prepare():
            l_norm = inference.lightness_input(rgb[None], self.size, self.multiple)[0]
            shape = tf.cast(tf.shape(l_norm), tf.int64)
            return l_norm, shape[0] * _KEY_BASE + shape[1], tf.constant("")

        return tf.cond(
            succeeded, prepare, lambda: self._failed(decoding.explain_undecodable(encoded))
        )

    def _checked_model_input(self, encoded):
        """:meth:`_model_input`, after the pixel limit is checked in the header."""
        if self.max_pixels is None:
            return self._model_input(encoded)
        shape = decoding.declared_shape(encoded)
        return tf.cond(
            shape[0] * shape[1] > self.max_pixels,
            lambda: self._refuse(shape),
            lambda: self._model_input(encoded),
        )

    def _model_inputs(self, image_bytes, count):
        """Decode each photo and make its model input. Returns a TensorArray of
        ``l_norm`` (h, w, 1) per photo, int64 keys (B,) naming each processing shape
        (-1 for a photo that failed) and the failures' reasons, string (B,)."""

        def body(index, lightness, keys, errors):
            l_norm, key, error = self._checked_model_input(image_bytes[index])
            return (
                index + 1,
                lightness.write(index, l_norm),
                keys.write(index, key),
                errors.write(index, error),
            )

        _, lightness, keys, errors = tf.while_loop(
            lambda index, *_: index < count,
            body,
            (
                tf.constant(0),
                _tensor_array(tf.float32, count, [None, None, 1]),
                tf.TensorArray(tf.int64, count, element_shape=[]),
                tf.TensorArray(tf.string, count, element_shape=[]),
            ),
        )
        return lightness, keys.stack(), errors.stack()

    def _predict_groups(self, lightness, keys, seeds, count):
        """``ab_norm`` of every photo that was decoded, one network call per processing
        shape: a TensorArray of (h, w, 2)."""
        shapes, _ = tf.unique(keys)

        def body(index, ab):
            key = shapes[index]
            members = tf.cast(tf.where(tf.equal(keys, key))[:, 0], tf.int32)

            def predict():
                ab_norm = self.predict_ab(lightness.gather(members), tf.gather(seeds, members))
                return ab.scatter(members, ab_norm)

            ab = tf.cond(key >= 0, predict, lambda: ab)
            return index + 1, ab

        _, ab = tf.while_loop(
            lambda index, _: index < tf.size(shapes),
            body,
            (tf.constant(0), _tensor_array(tf.float32, count, [None, None, 2])),
        )
        return ab

    def _encode_outputs(self, image_bytes, ab, keys, errors, count):
        """The PNG of each decoded photo with its ab, at the photo's own size."""

        def colorize(index):
            # Decoded again rather than kept: a request's photos are not all held at once.
            rgb = inference.to_uint8(decoding.decode_image_bytes(image_bytes[index]))[None]
            ab_norm = tf.image.resize(ab.read(index)[None], tf.shape(rgb)[1:3])
            colored = inference.color_pixels(rgb, ab_norm)
            return tf.io.encode_png(inference.to_uint8(colored[0]))

        def body(index, pngs):
            png = tf.cond(keys[index] >= 0, lambda: colorize(index), lambda: tf.constant(""))
            return index + 1, pngs.write(index, png)

        _, pngs = tf.while_loop(
            lambda index, _: index < count,
            body,
            (tf.constant(0), tf.TensorArray(tf.string, count, element_shape=[])),
        )
        return pngs.stack(), errors

    def endpoints(self) -> dict:
        """``{signature name: (function, input signature)}`` for an ExportArchive."""
        seed_spec = [tf.TensorSpec([None], tf.int64, name=SEED)] if self.diverse else []

        def seeds_or_zeros(batch_of, seed):
            return seed[0] if seed else tf.zeros(tf.shape(batch_of)[:1], tf.int64)

        def serve_bytes(image_bytes, *seed):
            pngs, errors = self.colorize_encoded(image_bytes, seeds_or_zeros(image_bytes, seed))
            return {PNG_OUTPUT: pngs, ERROR_OUTPUT: errors}

        def serve_rgb(rgb, *seed):
            ab, colored = self.colorize_uint8(inference.to_uint8(rgb), seeds_or_zeros(rgb, seed))
            return {"ab": ab, "rgb": colored}

        def serve_lightness(lightness, *seed):
            gray = inference.gray_from_lightness(lightness)
            ab, colored = self.colorize_uint8(gray, seeds_or_zeros(lightness, seed))
            return {"ab": ab, "rgb": colored}

        return {
            "serving_default": (
                serve_bytes,
                [tf.TensorSpec([None], tf.string, name=IMAGE_BYTES), *seed_spec],
            ),
            "colorize_rgb": (
                serve_rgb,
                [tf.TensorSpec([None, None, None, 3], tf.float32, name="rgb"), *seed_spec],
            ),
            "colorize_lightness": (
                serve_lightness,
                [tf.TensorSpec([None, None, None, 1], tf.float32, name="lightness"), *seed_spec],
            ),
        }


def next_version(model_dir) -> int:
    """One more than the highest integer version folder in ``model_dir`` (1 if none)."""
    versions = [int(entry.name) for entry in Path(model_dir).glob("*") if entry.name.isdigit()]
    return max(versions, default=0) + 1


def warmup_images(count: int = 3) -> list[bytes]:
    """Synthetic JPEG photos of different sizes and aspects, for warmup requests when
    no photos are given: they load every kernel the first real request would."""
    shapes = [(480, 640), (720, 540), (256, 256)][:count]
    rng = np.random.default_rng(0)
    encoded = []
    for height, width in shapes:
        ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
        plane = 0.5 + 0.4 * np.sin(6 * xs + 4 * ys + rng.uniform(0, 6))
        gray = (np.stack([plane] * 3, -1) * 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(gray).save(buffer, "JPEG", quality=90)
        encoded.append(buffer.getvalue())
    return encoded


def warmup_records(model_name: str, images: list[bytes], diverse: bool) -> list[bytes]:
    """Serialized ``PredictionLog`` records, one ``serving_default`` request per image,
    for ``assets.extra/tf_serving_warmup_requests`` (TF Serving replays them at load)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    records = []
    for index, encoded in enumerate(images):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
        )
        request.inputs[IMAGE_BYTES].CopyFrom(tf.make_tensor_proto([encoded], tf.string))
        if diverse:
            request.inputs[SEED].CopyFrom(tf.make_tensor_proto([index], tf.int64))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        records.append(log.SerializeToString())
    return records


def _export_info(graph: ServingGraph, model_name: str, version: int, source: str) -> dict:
    return {
        "model_name": model_name,
        "version": version,
        "model": type(graph.model).__name__,
        "source": source,
        "processing_size": graph.size,
        "max_pixels": graph.max_pixels,
        "diverse": graph.diverse,
        "signatures": {
            "serving_default": {
                "inputs": [IMAGE_BYTES] + ([SEED] if graph.diverse else []),
                "outputs": [PNG_OUTPUT, ERROR_OUTPUT],
            },
            "colorize_rgb": {
                "inputs": ["rgb"] + ([SEED] if graph.diverse else []),
                "outputs": ["ab", "rgb"],
            },
            "colorize_lightness": {
                "inputs": ["lightness"] + ([SEED] if graph.diverse else []),
                "outputs": ["ab", "rgb"],
            },
        },
        "kcolor": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def export_savedmodel(
    model,
    base_dir,
    model_name: str = "colorizer",
    *,
    version: int | None = None,
    size: int = 256,
    warmup: list[bytes] | None = None,
    source: str = "",
    overwrite: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Path:
    """Write a SavedModel in TF Serving's layout ``base_dir/model_name/version/``.

    The version is written to a temporary folder next to it and renamed into place when
    complete, so a server polling ``base_dir/model_name`` never loads half a model.

    Args:
        model: a colorization model (see :class:`ServingGraph`).
        base_dir: the model base folder a server is started on.
        model_name: the served model's name.
        version: an integer version; default one above the highest present.
        size: processing size (shorter side, pixels) baked into the graph.
        warmup: encoded photos for the warmup requests; default three synthetic ones.
        source: where the model came from, recorded in ``export_info.json``.
        overwrite: replace an existing version folder.
        max_pixels: ``serving_default`` refuses photos whose header declares more;
            None: no limit.

    Returns:
        The version folder.

    Raises:
        ExportError: the version exists and ``overwrite`` is off, or it is not >= 1.
    """
    model_dir = Path(base_dir) / model_name
    version = next_version(model_dir) if version is None else version
    if version < 1:
        raise ExportError(f"version must be an integer >= 1. Received: {version}")
    target = model_dir / str(version)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} exists (pass overwrite=True / --overwrite to replace it)")
    graph = ServingGraph(model, size, max_pixels)
    archive = keras.export.ExportArchive()
    archive.track(model)
    # serving_default is registered by name, so it is the default whatever the order.
    for name, (function, signature) in graph.endpoints().items():
        archive.add_endpoint(name, function, input_signature=signature)

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=model_dir, prefix=f".{version}-partial-"))
    try:
        archive.write_out(str(staging), verbose=False)
        extra = staging / "assets.extra"
        extra.mkdir()
        records = warmup_records(model_name, warmup or warmup_images(), graph.diverse)
        with tf.io.TFRecordWriter(str(extra / WARMUP_FILE)) as writer:
            for record in records:
                writer.write(record)
        info = _export_info(graph, model_name, version, source)
        (extra / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        os.chmod(staging, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def keras_ab(model, rgb, size: int = 256, seed: int = 0):
    """What ``kcolor colorize`` computes for ``rgb`` (uint8 (H, W, 3)): the Keras
    model's ab in Lab units at the photo's size, float32 (H, W, 2)."""
    colorizer = inference.Colorizer(model, size)
    ab_norm = colorizer.predict_ab(colorizer.model_input(rgb), 1, seed)[:, 0]
    return color.denormalize_ab(tf.image.resize(ab_norm, rgb.shape[:2]))[0]


def verify_savedmodel(folder, model, size: int = 256, rgb=None, seed: int = 0) -> float:
    """Reload an export and compare its ``colorize_rgb`` ab with the Keras model's.

    Args:
        folder: the version folder written by :func:`export_savedmodel`.
        rgb: uint8 (H, W, 3) photo to compare on; default a synthetic 300x200 one.

    Returns:
        The largest absolute ab difference, in Lab units.
    """
    if rgb is None:
        ys, xs = np.mgrid[0:200, 0:300] / 300.0
        rgb = np.stack([0.5 + 0.4 * np.sin(7 * xs + k * ys + k) for k in range(3)], -1) * 255
        rgb = rgb.astype(np.uint8)
    signature = tf.saved_model.load(str(folder)).signatures["colorize_rgb"]
    inputs = {"rgb": tf.constant(rgb[None] / 255.0, tf.float32)}
    if "seed" in signature.structured_input_signature[1]:
        inputs["seed"] = tf.constant([seed], tf.int64)
    served = signature(**inputs)["ab"][0]
    return float(tf.reduce_max(tf.abs(served - keras_ab(model, rgb, size, seed))))
