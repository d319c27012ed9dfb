"""The high-level functions, also reachable as ``kcolor.colorize``, ``kcolor.load_model``
and ``kcolor.make_colorizer``: they choose between the Keras colorize path
(:mod:`kcolor.inference`) and the int8 TFLite one (:mod:`kcolor.deploy.int8`).
"""

import os
import warnings

from PIL import Image

from kcolor import inference
from kcolor import precision as precision_module
from kcolor.errors import ConfigError
from kcolor.limits import DEFAULT_MAX_PIXELS

__all__ = ["colorize", "load_model", "make_colorizer", "open_colorizer"]

TFLITE_SUFFIX = ".tflite"


def load_model(model=None):
    """A colorization model from a name, a file or a model object.

    Args:
        model: None or "default" (the bundled default model), a bundled model's name
            (``kcolor.models.presets.available()``), a ``.keras`` file, a ``.tflite`` file
            exported by ``kcolor export --format tflite``, or a loaded model.

    Returns:
        A Keras model (names and ``.keras`` files are loaded once per process; see
        :func:`kcolor.inference.load_model`), or for a ``.tflite`` file a
        :class:`kcolor.deploy.tflite.TFLiteModel`. Either goes to :func:`make_colorizer`.

    Raises:
        FileNotFoundError, ModelFileError: naming the file.
    """
    from kcolor.deploy import tflite  # its runtime loads only when a file is opened

    if isinstance(model, tflite.TFLiteModel):
        return model
    if _names_a_tflite_file(model):
        return tflite.TFLiteModel(model)
    return inference.load_model(model)


def _names_a_tflite_file(model) -> bool:
    return isinstance(model, str | os.PathLike) and os.fspath(model).endswith(TFLITE_SUFFIX)


def make_colorizer(model, size: int = 256, precision: str = "auto"):
    """The colorizer of ``model`` in ``precision``.

    Args:
        model: what :func:`load_model` takes or gives.
        size: shorter side of the processing size, in pixels.
        precision: "auto" (default: bfloat16 where the CPU computes it natively,
            float32 elsewhere), "float32", "bfloat16" or "int8" (see
            :mod:`kcolor.precision`); a ``.tflite`` file's arithmetic is its own, so it
            takes "auto" only.

    Returns:
        A :class:`~kcolor.inference.BaseColorizer`: a
        :class:`~kcolor.inference.Colorizer`, for "int8" a
        :class:`kcolor.deploy.int8.Int8Colorizer`, for a ``.tflite`` file a
        :class:`kcolor.deploy.tflite.LiteColorizer`.

    Raises:
        ConfigError: a precision given for a ``.tflite`` file.
    """
    from kcolor.deploy import tflite  # its runtime loads only when a file is opened

    # Checked before loading: an unknown precision is refused at once.
    int8 = precision_module.resolve(precision) == "int8"
    if isinstance(model, tflite.TFLiteModel) or _names_a_tflite_file(model):
        if precision != "auto":
            raise ConfigError("--precision does not apply to a .tflite model (its file fixes it).")
        return tflite.LiteColorizer(load_model(model), size)
    model = load_model(model)
    if int8:
        from kcolor.deploy.int8 import Int8Colorizer  # loads the TFLite runtime when asked

        return Int8Colorizer(model, size)
    return inference.Colorizer(model, size, precision)


def open_colorizer(model=None, size: int = 256, precision: str = "auto"):
    """Deprecated alias of :func:`make_colorizer`, which now takes names and files too
    (removed in kcolor 0.3)."""
    warnings.warn(
        "open_colorizer is deprecated; use make_colorizer", DeprecationWarning, stacklevel=2
    )
    return make_colorizer(model, size, precision)


def colorize(
    image,
    model=None,
    *,
    size: int = 256,
    samples: int = 1,
    seed=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    precision: str = "auto",
):
    """Colorize a photo.

    Args:
        image: a path, PIL image or array (see :func:`read_image`); colour photos are
            colorized from their own lightness.
        model: see :func:`load_model`.
        size: shorter side of the processing size, in pixels.
        samples: colourings to return (more than 1 needs the GAN).
        seed: an int makes the GAN's colourings repeatable: colouring ``k`` (from 0) is
            the one of seed ``seed + k``.
        max_pixels: refuse larger images (see :func:`read_image`); None: no limit.
        precision: "auto" (bfloat16 where the CPU computes it natively, float32
            elsewhere), "float32", "bfloat16" or "int8" (see :mod:`kcolor.precision`).

    Returns:
        A PIL RGB image of the input's size, or a list of ``samples`` of them when
        ``samples > 1``.
    """
    colorizer = make_colorizer(model, size, precision)
    rgb = inference.read_image(image, max_pixels)
    results = inference.colorize_rgb(rgb, colorizer, samples, seed)
    images = [Image.fromarray(result) for result in results]
    return images if samples > 1 else images[0]
