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

import io
import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from kcolor import bundled, color, data, decoding
from kcolor.models import DiverseColorGAN, DiverseColorGenerator, HypercolumnColorizer
from kcolor.models.gan import draw_noise

# Rows converted at a time in step 3: bounds the float temporaries of a large photo.
_STRIP_ROWS = 512


class ImageReadError(ValueError):
    """An input could not be read as an image; the message names it and says why."""


def _orientation(encoded: bytes) -> int:
    """EXIF orientation (1-8) of an encoded image, 1 when absent or unreadable."""
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


def read_image(source) -> np.ndarray:
    """Read a photo as upright 8-bit RGB.

    Args:
        source: a file path (JPEG, PNG 8/16-bit, gray, RGBA, palette, BMP, GIF, WebP;
            EXIF orientation applied), a PIL image, or an array: uint8 0..255 or float
            in [0, 1], shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).

    Returns:
        uint8 array (H, W, 3), channel order R, G, B. Colour inputs are returned as they
        are; colorizing uses only their lightness.

    Raises:
        ImageReadError: the source is missing, unreadable or not an image.
    """
    if isinstance(source, Image.Image):
        return np.asarray(ImageOps.exif_transpose(source).convert("RGB"))
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    path = os.fspath(source)
    try:
        with open(path, "rb") as handle:
            encoded = handle.read()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot be read ({error.strerror or error})") from error
    try:
        rgb = decoding.decode_image_bytes(encoded).numpy()
    except tf.errors.InvalidArgumentError:
        reason = decoding.explain_undecodable(encoded).numpy().decode()
        raise ImageReadError(f"{path}: {reason}") from None
    rgb = np.round(rgb * 255.0).astype(np.uint8)
    return _apply_orientation(rgb, _orientation(encoded))


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


def processing_shape(height: int, width: int, size: int, multiple: int) -> tuple[int, int]:
    """The processing size: shorter side ``size``, aspect kept, both sides rounded to a
    multiple of ``multiple`` (at least one multiple)."""
    scale = size / min(height, width)

    def side(length):
        return max(multiple, int(round(length * scale / multiple)) * multiple)

    return side(height), side(width)


class Colorizer:
    """A loaded model with its calling convention, for :func:`colorize_rgb`.

    Args:
        model: a :class:`~kcolor.models.HypercolumnColorizer`, a
            :class:`~kcolor.models.DiverseColorGAN` or a bare
            :class:`~kcolor.models.DiverseColorGenerator`.
        size: shorter side of the processing size, in pixels.
    """

    def __init__(self, model, size: int = 256):
        if not isinstance(model, HypercolumnColorizer | DiverseColorGAN | DiverseColorGenerator):
            raise TypeError(
                "model must be a HypercolumnColorizer, DiverseColorGAN or "
                f"DiverseColorGenerator. Received: {type(model).__name__}"
            )
        if size < 1:
            raise ValueError(f"size must be >= 1. Received: size={size}")
        self.model = model
        self.size = size
        # VGG16's four poolings need sides divisible by 16; the GAN keeps any size.
        self.multiple = 16 if isinstance(model, HypercolumnColorizer) else 1
        self.diverse = not isinstance(model, HypercolumnColorizer)

    def predict_ab(self, l_norm, samples: int = 1, seed: int | None = None):
        """``ab_norm`` (B, samples, h, w, 2) for ``l_norm`` (B, h, w, 1)."""
        if samples < 1:
            raise ValueError(f"samples must be >= 1. Received: samples={samples}")
        if isinstance(self.model, HypercolumnColorizer):
            if samples != 1:
                raise ValueError(
                    "The hypercolumn model gives one colouring per image; samples > 1 "
                    "needs the GAN."
                )
            return self.model(l_norm, training=False)[:, None]
        if isinstance(self.model, DiverseColorGAN):
            return self.model.sample(l_norm, samples, seed=seed)
        shape = tf.shape(l_norm)
        repeated = tf.repeat(l_norm, samples, axis=0)
        noise = draw_noise(repeated, self.model.noise_channels, seed)
        ab_norm = self.model([repeated, noise], training=False)
        return tf.reshape(ab_norm, [shape[0], samples, shape[1], shape[2], 2])

    def model_input(self, rgb: np.ndarray):
        """uint8 RGB (H, W, 3) -> ``l_norm`` (1, h, w, 1) at the processing size."""
        height, width = rgb.shape[:2]
        shape = processing_shape(height, width, self.size, self.multiple)
        # Resized as uint8 (tf.image.resize returns float32): no full-size float copy.
        small = data.resize_image(tf.convert_to_tensor(rgb[None]), shape) / 255.0
        l_norm, _ = color.rgb_to_model_lab(tf.clip_by_value(small, 0.0, 1.0))
        return l_norm


def compose(rgb: np.ndarray, ab_norm) -> np.ndarray:
    """Join the full-resolution lightness of ``rgb`` with ``ab_norm`` resized to it.

    Args:
        rgb: uint8 (H, W, 3), the photo (only its Lab L is used).
        ab_norm: float (h, w, 2), predicted at the processing size.

    Returns:
        uint8 (H, W, 3) RGB, the same size as ``rgb``.
    """
    height, width = rgb.shape[:2]
    ab_full = tf.image.resize(tf.convert_to_tensor(ab_norm)[None], (height, width))[0]
    output = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, _STRIP_ROWS):
        rows = slice(top, min(top + _STRIP_ROWS, height))
        lightness = color.rgb_to_lab(rgb[rows])[..., :1]
        ab = color.denormalize_ab(ab_full[rows])
        strip = color.lab_to_rgb(tf.concat([lightness, ab], axis=-1))
        output[rows] = np.round(strip.numpy() * 255.0).astype(np.uint8)
    return output


def colorize_rgb(
    rgb: np.ndarray, colorizer: Colorizer, samples: int = 1, seed: int | None = None
) -> list[np.ndarray]:
    """Colorize one photo; returns ``samples`` uint8 RGB arrays of the photo's size."""
    ab = colorizer.predict_ab(colorizer.model_input(rgb), samples, seed)[0]
    return [compose(rgb, ab[index]) for index in range(samples)]


def load_model(model=None):
    """A colorization model from a name, a ``.keras`` file or a model object.

    Args:
        model: None or "default" (the bundled default model), "hypercolumn" or "gan"
            (the bundled models), a path to a ``.keras`` file, or a loaded model.

    Raises:
        FileNotFoundError: the bundled weights or the file do not exist.
        ValueError: the bundled weights fail their sha256 check.
    """
    if isinstance(model, keras.Model):
        return model
    if model in (None, "default", "hypercolumn", "gan"):
        return bundled.load(model)
    path = os.fspath(model)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    return keras.saving.load_model(path)


def colorize(image, model=None, *, size: int = 256, samples: int = 1, seed=None):
    """Colorize a photo.

    Args:
        image: a path, PIL image or array (see :func:`read_image`); colour photos are
            colorized from their own lightness.
        model: see :func:`load_model`.
        size: shorter side of the processing size, in pixels.
        samples: colourings to return (more than 1 needs the GAN).
        seed: an int makes the GAN's colourings repeatable.

    Returns:
        A PIL RGB image of the input's size, or a list of ``samples`` of them when
        ``samples > 1``.
    """
    colorizer = Colorizer(load_model(model), size)
    results = colorize_rgb(read_image(image), colorizer, samples, seed)
    images = [Image.fromarray(result) for result in results]
    return images if samples > 1 else images[0]
