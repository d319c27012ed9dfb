"""The one colorize path, used by ``kcolor.colorize`` and the ``kcolor`` command.

A photo is colorized in three steps, each with the same TensorFlow ops as training:

1. the image is resized (area averaging when shrinking) to a processing size whose
   shorter side is ``size`` pixels and converted to Lab; the model predicts ab there;
2. the predicted ab is resized back to the photo's own size (bilinear);
3. it is joined with the L of the photo at full resolution and converted to RGB.

The output has exactly the input's width and height and keeps its detail: only colour
comes from the processing size. Step 3 runs in strips of rows, so a large photo needs
its 8-bit input and output, two float planes of ab at full size, the float working copy
of TensorFlow's area resize in step 1, and per strip a few float temporaries
(docs/results.md has the measured peak for a 24-megapixel photo).
"""

import functools
import io
import os
import weakref
import zipfile

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from kcolor import color, images
from kcolor import precision as precision_module
from kcolor.data import decoding
from kcolor.errors import ConfigError, ImageReadError, ImageTooLarge, ModelFileError
from kcolor.inference.interface import BaseColorizer
from kcolor.limits import DEFAULT_MAX_PIXELS, MAX_ASPECT
from kcolor.models import presets
from kcolor.models.base import ColorizationModel

# Rows converted at a time in step 3: bounds the float temporaries of a large photo.
_STRIP_ROWS = 512


def check_pixels(name: str, width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`ImageTooLarge` if ``width * height`` is over ``max_pixels``."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(
            f"{name}: {width}x{height} pixels is over the limit of {max_pixels:,} pixels "
            "(raise it with --max-pixels or max_pixels=)"
        )


def exif_orientation(encoded: bytes) -> int:
    """EXIF orientation (1-8) of an encoded image, 1 when absent or unreadable."""
    if encoded.startswith(decoding.PNG_SIGNATURE) and b"eXIf" not in encoded:
        # Pillow looks for a PNG's EXIF by decoding the whole image (the chunk may follow
        # the pixels): as long as decoding it again. Without an eXIf chunk there is none.
        return 1
    try:
        with Image.open(io.BytesIO(encoded)) as image:
            return int(image.getexif().get(0x0112, 1))
    except (OSError, ValueError, SyntaxError):
        return 1


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image stored with EXIF orientation 1-8 upright (as PIL's exif_transpose)."""
    transposed = np.transpose(rgb, (1, 0, 2))
    upright = {
        2: lambda: rgb[:, ::-1],
        3: lambda: rgb[::-1, ::-1],
        4: lambda: rgb[::-1],
        5: lambda: transposed,
        6: lambda: np.rot90(rgb, -1),
        7: lambda: transposed[::-1, ::-1],
        8: lambda: np.rot90(rgb, 1),
    }.get(orientation, lambda: rgb)()
    return np.ascontiguousarray(upright)


def read_image(source, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo as upright 8-bit RGB.

    Args:
        source: a file path (JPEG, PNG 8/16-bit, gray, RGBA, palette, BMP, GIF, WebP;
            EXIF orientation applied), a PIL image, or an array: uint8 0..255 or float
            in [0, 1], shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).
        max_pixels: refuse images of more pixels than this (checked in a file's header,
            before decoding); None: no limit.

    Returns:
        uint8 array (H, W, 3), channel order R, G, B. Colour inputs are returned as they
        are; colorizing uses only their lightness.

    Raises:
        ImageReadError: the source is missing, unreadable or not an image.
        ImageTooLarge: the image has more than ``max_pixels`` pixels.
    """
    if isinstance(source, Image.Image):
        check_pixels("image", *source.size, max_pixels)
        return np.asarray(ImageOps.exif_transpose(source).convert("RGB"))
    if isinstance(source, np.ndarray):
        if source.ndim >= 2:
            check_pixels("array", source.shape[1], source.shape[0], max_pixels)
        return _array_to_rgb(source)
    path = os.fspath(source)
    return decode_photo(path, read_file(path), max_pixels)


def read_file(path) -> bytes:
    """The bytes of a photo file.

    Raises:
        ImageReadError: naming the file, when it cannot be read.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot be read ({error.strerror or error})") from error


def decode_photo(
    name: str, encoded: bytes, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Encoded image bytes -> upright uint8 RGB (H, W, 3), as :func:`read_image`.

    Raises:
        ImageReadError: naming ``name``, when the bytes are not a decodable image.
        ImageTooLarge: the header declares more than ``max_pixels`` pixels.
    """
    height, width = (int(side) for side in decoding.declared_shape(encoded))
    check_pixels(name, width, height, max_pixels)
    try:
        rgb = _decode_uint8(encoded)
    except tf.errors.InvalidArgumentError:
        reason = decoding.explain_undecodable(encoded).numpy().decode()
        raise ImageReadError(f"{name}: {reason}") from None
    except tf.errors.ResourceExhaustedError:
        raise ImageTooLarge(f"{name}: too large to decode in the memory available") from None
    return _apply_orientation(rgb, exif_orientation(encoded))


def upright_bytes(path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> bytes:
    """The bytes to send for a photo: the file as it is, or, when its EXIF orientation
    turns it, a PNG of the upright photo (the server does not read EXIF).

    Raises:
        ImageReadError: the file is missing or not a readable image, or
            it has more than ``max_pixels`` pixels.
    """
    rgb = read_image(path, max_pixels)  # checks it decodes, as the server will
    with open(path, "rb") as handle:
        encoded = handle.read()
    if exif_orientation(encoded) == 1:
        return encoded
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _decode_uint8(encoded: bytes) -> np.ndarray:
    """uint8 RGB (H, W, 3) of an encoded image: the levels ``to_uint8`` gives for
    :func:`kcolor.data.decoding.decode_image_bytes`' floats, without ever holding a float copy
    of the whole photo (four times its 8-bit size)."""
    if encoded.startswith(decoding.PNG_SIGNATURE) and encoded[24:25] == b"\x10":
        # 16-bit PNG: rounded to 8 bits a strip at a time, as the float path rounds.
        wide = tf.io.decode_png(encoded, channels=0, dtype=tf.uint16).numpy()
        narrow = np.empty(wide.shape, np.uint8)
        for top in range(0, wide.shape[0], _STRIP_ROWS):
            strip = wide[top : top + _STRIP_ROWS].astype(np.float32) / np.float32(65535.0)
            narrow[top : top + _STRIP_ROWS] = np.round(np.clip(strip, 0.0, 1.0) * np.float32(255.0))
        image = tf.convert_to_tensor(narrow)
    else:
        image = tf.io.decode_image(encoded, channels=0, dtype=tf.uint8, expand_animations=False)
    return np.ascontiguousarray(decoding.to_rgb(image).numpy())


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or 0 in array.shape:
        raise ImageReadError(
            f"array of shape {array.shape} is not an image: expected (H, W), (H, W, 1), "
            "(H, W, 3) or (H, W, 4)"
        )
    if array.dtype != np.uint8:
        array = np.round(np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def processing_shape(height, width, size: int, multiple: int):
    """The processing size: shorter side ``size`` rounded to a multiple of ``multiple``,
    aspect kept up to ``MAX_ASPECT`` (a longer photo is squeezed to ``MAX_ASPECT * size``
    along its long side), the longer side rounded to a step of about a quarter of
    ``size`` (a multiple of ``multiple``; at least one).

    The coarse step bounds the shapes the network ever sees (26 at size 256, both
    orientations): TensorFlow's oneDNN kernels keep prepared primitives per input shape,
    so a long-lived process colorizing photos of every size would otherwise grow by
    megabytes with each new shape. The processing image's longer side is then off the
    photo's aspect by at most half a step (an eighth of ``size``), which the
    full-resolution output does not show.

    Takes Python ints or scalar int tensors (inside a graph, as the exported SavedModel
    does) and returns an int32 tensor ``(height, width)``: one definition for both paths.
    """
    height = tf.cast(height, tf.float64)
    width = tf.cast(width, tf.float64)
    scale = size / tf.minimum(height, width)
    long_step = multiple * max(1, round(size / SHAPE_STEPS_PER_SIZE / multiple))

    def side(length, step):
        scaled = tf.minimum(length * scale, MAX_ASPECT * size)
        steps = tf.cast(tf.round(scaled / step), tf.int32)
        return tf.maximum(multiple, steps * step)

    shorter = side(tf.minimum(height, width), multiple)
    longer = tf.maximum(shorter, side(tf.maximum(height, width), long_step))
    return tf.where(height <= width, tf.stack([shorter, longer]), tf.stack([longer, shorter]))


# The longer side of the processing size moves in steps of size / 4 (see processing_shape).
SHAPE_STEPS_PER_SIZE = 4


def lightness_input(rgb, size: int, multiple: int):
    """The model input of photos of one size.

    Args:
        rgb: uint8 tensor (B, H, W, 3), channel order R, G, B.
        size: shorter side of the processing size; multiple: see :func:`processing_shape`.

    Returns:
        ``l_norm``: float32 (B, h, w, 1), ``L / 50 - 1`` at the processing size.
    """
    shape = tf.shape(rgb)
    target = processing_shape(shape[1], shape[2], size, multiple)
    # Resized as uint8 (tf.image.resize returns float32): no full-size float copy.
    small = images.resize_image(rgb, target) / 255.0
    l_norm, _ = color.rgb_to_model_lab(tf.clip_by_value(small, 0.0, 1.0))
    return l_norm


def color_pixels(rgb, ab_norm):
    """Replace the colour of ``rgb``'s pixels by ``ab_norm``, keeping their lightness.

    Args:
        rgb: uint8 tensor (..., 3), channel order R, G, B (only its Lab L is used).
        ab_norm: float tensor (..., 2), channel order a, b, ``ab / 110``; same leading
            shape.

    Returns:
        float32 tensor (..., 3), R, G, B in [0, 1] (:func:`to_uint8` gives the levels
        that are saved).
    """
    lightness = color.rgb_to_lab(rgb)[..., :1]
    ab = color.denormalize_ab(ab_norm)
    return color.lab_to_rgb(tf.concat([lightness, ab], axis=-1))


def gray_from_lightness(lightness):
    """Lab L in [0, 100] (..., 1) -> the uint8 gray sRGB (..., 3) with that lightness."""
    lightness = tf.cast(lightness, tf.float32)
    neutral = tf.concat([lightness, tf.zeros_like(lightness), tf.zeros_like(lightness)], -1)
    return to_uint8(color.lab_to_rgb(neutral))


def to_uint8(rgb):
    """float RGB in [0, 1] -> uint8 0..255, rounded as :func:`read_image` does."""
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 1.0) * 255.0), tf.uint8)


class Colorizer(BaseColorizer):
    """A Keras model ready to colorize (:class:`~kcolor.inference.interface.BaseColorizer`).

    The network runs as one TensorFlow graph traced for any input size (about 1.3x
    faster than calling the Keras model eagerly), kept per model object so that
    colorizers made again for the same model reuse it.

    Args:
        model: a :class:`~kcolor.models.HypercolumnColorizer`, a
            :class:`~kcolor.models.DiverseColorGAN` or a bare
            :class:`~kcolor.models.DiverseColorGenerator` or
            :class:`~kcolor.models.GuidedColorGenerator`.
        size: shorter side of the processing size, in pixels.
        precision: "float32", "bfloat16" or "auto" (see :mod:`kcolor.precision`; for
            "int8" use :func:`make_colorizer`).
    """

    def __init__(self, model, size: int = 256, precision: str = "float32"):
        if not isinstance(model, ColorizationModel):
            raise TypeError(
                "model must be a kcolor model (kcolor.models: HypercolumnColorizer, "
                f"DiverseColorGAN, DiverseColorGenerator, ...). Received: {type(model).__name__}"
            )
        if size < 1:
            raise ConfigError(f"size must be >= 1. Received: size={size}")
        # The network that colorizes (a GAN's generator).
        self.network = model.colorizing_network()
        self.precision = precision_module.resolve(precision, self.network.bfloat16_is_faster)
        if self.precision == "int8":
            raise ConfigError("Colorizer runs Keras models; make_colorizer() gives int8 ones.")
        self.model = model
        self.size = size
        self.multiple = model.input_multiple
        self.diverse = model.diverse
        self.noise_channels = model.noise_channels
        if self.precision == "bfloat16":
            self.network = precision_module.in_bfloat16(self.network)
        else:
            self.network = precision_module.in_float32(self.network)
        self._graph = _network_graph(self.network)

    def _predict_ab(self, l_norm, samples: int, seed: int):
        return self._graph(
            tf.convert_to_tensor(l_norm, tf.float32),
            tf.constant(samples, tf.int32),
            tf.constant(seed, tf.int64),
        )

    def model_input(self, rgb):
        """uint8 RGB (H, W, 3) -> ``l_norm`` (1, h, w, 1) at the processing size."""
        return lightness_input(tf.convert_to_tensor(rgb)[None], self.size, self.multiple)


_L_NORM_SPEC = tf.TensorSpec([None, None, None, 1], tf.float32)
# One traced graph per network object and config (see Colorizer): a changed decoding
# setting is in the config and gets a new graph.
_GRAPHS = weakref.WeakKeyDictionary()


def _network_graph(network):
    """The graph function of ``network``: ``(l_norm, samples, seed) -> ab_norm``
    (B, samples, h, w, 2), by :meth:`~kcolor.models.base.ColorizationModel.sample_ab`."""
    key = precision_module.config_key(network)
    cached = _GRAPHS.get(network)
    if cached is None or cached[0] != key:
        # A weak reference: the cache must not keep the network alive through its graph.
        network_ref = weakref.ref(network)

        def colorings(l_norm, samples, seed):
            return network_ref().sample_ab(l_norm, samples, seed)

        signature = [_L_NORM_SPEC, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int64)]
        graph = tf.function(colorings, input_signature=signature)
        cached = _GRAPHS[network] = (key, graph)
    return cached[1]


def compose(rgb: np.ndarray, ab_norm) -> np.ndarray:
    """Join the full-resolution lightness of ``rgb`` with ``ab_norm`` resized to it.

    Args:
        rgb: uint8 (H, W, 3), the photo (only its Lab L is used).
        ab_norm: float (h, w, 2), predicted at the processing size.

    Returns:
        uint8 (H, W, 3) RGB, the same size as ``rgb``.
    """
    height, width = rgb.shape[:2]
    ab_norm = tf.convert_to_tensor(np.asarray(ab_norm, np.float32))
    columns = _bilinear_axis(width, ab_norm.shape[1], 0, width)
    output = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, _STRIP_ROWS):
        bottom = min(top + _STRIP_ROWS, height)
        rows = _bilinear_axis(height, ab_norm.shape[0], top, bottom)
        output[top:bottom] = _colorized_strip(rgb[top:bottom], ab_norm, *rows, *columns).numpy()
    return output


def _bilinear_axis(size_out: int, size_in: int, start: int, stop: int):
    """Source indices and weights of outputs ``start..stop`` along one axis, computed in
    float32 exactly as TensorFlow's bilinear resize (half-pixel centres) does."""
    scale = np.float32(size_in) / np.float32(size_out)
    half = np.float32(0.5)
    position = (np.arange(start, stop, dtype=np.float32) + half) * scale - half
    low = np.floor(position)
    fraction = (position - low).astype(np.float32)
    low = low.astype(np.int64)
    return np.clip(low, 0, size_in - 1), np.clip(low + 1, 0, size_in - 1), fraction


def _interpolate(ab_norm, row_low, row_high, row_fraction, col_low, col_high, col_fraction):
    """Bilinear interpolation of ``ab_norm`` (h, w, C) at the given source indices and
    weights (:func:`_bilinear_axis`): float32 (rows, columns, C)."""
    col_fraction = col_fraction[None, :, None]

    def along_columns(rows):
        left, right = tf.gather(rows, col_low, axis=1), tf.gather(rows, col_high, axis=1)
        return left + (right - left) * col_fraction

    upper = along_columns(tf.gather(ab_norm, row_low))
    lower = along_columns(tf.gather(ab_norm, row_high))
    return upper + (lower - upper) * row_fraction[:, None, None]


def upsample_rows(ab_norm, height: int, width: int, top: int, bottom: int):
    """Rows ``top..bottom`` of ``tf.image.resize(ab_norm, (height, width))`` (bilinear),
    equal to it bit for bit, without making the whole (height, width) result.

    ``tf.image.resize`` can only produce the whole image, which for a 100-megapixel photo
    is 800 MB of float ab; :func:`compose` needs it one strip of rows at a time.

    Args:
        ab_norm: float32 (h, w, C).

    Returns:
        float32 tensor (bottom - top, width, C).
    """
    ab_norm = tf.convert_to_tensor(ab_norm, tf.float32)
    rows = _bilinear_axis(height, ab_norm.shape[0], top, bottom)
    columns = _bilinear_axis(width, ab_norm.shape[1], 0, width)
    return _interpolate(ab_norm, *rows, *columns)


_INDICES = tf.TensorSpec([None], tf.int64)
_WEIGHTS = tf.TensorSpec([None], tf.float32)


# One graph for every strip size: run eagerly, the Lab conversions' dozens of small ops
# took about twice as long (docs/results.md).
@tf.function(
    input_signature=[
        tf.TensorSpec([None, None, 3], tf.uint8),
        tf.TensorSpec([None, None, 2], tf.float32),
        *(_INDICES, _INDICES, _WEIGHTS) * 2,
    ]
)
def _colorized_strip(rgb, ab_norm, *axes):
    """uint8 RGB of a strip of the photo ``rgb`` coloured with ``ab_norm`` interpolated at
    the strip's rows and all columns (``axes``: see :func:`_interpolate`)."""
    ab_rows = _interpolate(ab_norm, *axes)
    return to_uint8(color_pixels(rgb, ab_rows))


def colorize_rgb(
    rgb: np.ndarray, colorizer: Colorizer, samples: int = 1, seed: int | None = None
) -> list[np.ndarray]:
    """Colorize one photo; returns ``samples`` uint8 RGB arrays of the photo's size."""
    ab = colorizer.predict_ab(colorizer.model_input(rgb), samples, seed)[0]
    return [compose(rgb, ab[index]) for index in range(samples)]


def load_model(model=None):
    """A colorization model from a name, a ``.keras`` file or a model object.

    Args:
        model: None or "default" (the bundled default model), a bundled model's name
            (``kcolor.models.presets.available()``: "mobilenet_v2", "hypercolumn", "gan"),
            a path to a ``.keras`` file, or a loaded model.

    Returns:
        The model. Names and files are loaded once per process and the same object is
        returned on later calls, so a change to it (a decoding setting, say) is seen by
        every later call in the process.

    Raises:
        FileNotFoundError: the bundled weights or the file do not exist.
        ValueError: the bundled weights fail their sha256 check.
    """
    if isinstance(model, keras.Model):
        return model
    if model in (None, "default"):
        # By its own name, so that "default" and the name give the same loaded model.
        return _load_bundled(presets.read_manifest()["default"])
    path = os.fspath(model)
    if not os.path.exists(path) and path in presets.available():
        return _load_bundled(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    status = os.stat(path)
    return _load_file(os.path.realpath(path), status.st_mtime_ns, status.st_size)


# Loaded once per process: a model is tens of megabytes and seconds to build, and
# kcolor.colorize in a loop would otherwise load it on every call (and Keras keeps some
# of every load alive). Files are keyed by modification time and size too, so a model
# retrained in place is loaded afresh.
@functools.lru_cache(maxsize=4)
def _load_bundled(name: str) -> keras.Model:
    return presets.load(name)


@functools.lru_cache(maxsize=4)
def _load_file(path: str, modified_ns: int, size: int) -> keras.Model:
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        # Keras would call it "File not found".
        raise ModelFileError(f"{path}: not a Keras model file (a .keras file is a zip archive)")
    try:
        model = keras.saving.load_model(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise ModelFileError(
            f"{path}: not a kcolor model file Keras can load ({type(error).__name__}: "
            f"{str(error)[:200]})"
        ) from error
    if not isinstance(model, ColorizationModel):
        raise ModelFileError(
            f"{path}: a Keras {type(model).__name__}, not a kcolor model (kcolor's are "
            f"{', '.join(_model_kinds())})"
        )
    return model


def _model_kinds() -> list[str]:
    """Names of kcolor's model classes a model file may hold."""
    import kcolor.models

    return sorted(
        name
        for name in kcolor.models.__all__
        if isinstance(getattr(kcolor.models, name), type)
        and issubclass(getattr(kcolor.models, name), ColorizationModel)
        and name != "ColorizationModel"
    )
