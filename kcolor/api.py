"""The high-level functions, also reachable as ``kcolor.colorize``, ``kcolor.load_model``
and ``kcolor.make_colorizer``: they choose between the Keras colorize path
(:mod:`kcolor.inference`) and the int8 TFLite one (:mod:`kcolor.deploy.int8`).
"""

from PIL import Image

from kcolor import inference
from kcolor import precision as precision_module
from kcolor.errors import ConfigError
from kcolor.inference import load_model
from kcolor.limits import DEFAULT_MAX_PIXELS

__all__ = ["colorize", "load_model", "make_colorizer", "open_colorizer"]


def make_colorizer(model, size: int = 256, precision: str = "auto"):
    """The colorizer of ``model`` in ``precision``.

    Args:
        model: a model object (see :class:`Colorizer`).
        size: shorter side of the processing size, in pixels.
        precision: "auto" (default: bfloat16 where the CPU computes it natively,
            float32 elsewhere), "float32", "bfloat16" or "int8" (see
            :mod:`kcolor.precision`).

    Returns:
        A :class:`~kcolor.inference.Colorizer`, or for "int8" a
        :class:`kcolor.deploy.int8.Int8Colorizer`; both
        have ``model_input`` and ``predict_ab``.
    """
    if precision_module.resolve(precision) == "int8":
        from kcolor.deploy import int8  # loads the TFLite runtime only when asked for

        return int8.Int8Colorizer(model, size)
    return inference.Colorizer(model, size, precision)


def open_colorizer(model=None, size: int = 256, precision: str = "auto"):
    """The colorizer of a model named as on the command line: None or a bundled model's
    name, a ``.keras`` file, or a ``.tflite`` file (run by the TFLite runtime; its file
    fixes its arithmetic, so ``precision`` must be "auto").

    Raises:
        ConfigError: a precision given for a ``.tflite`` file.
        ModelFileError, FileNotFoundError: naming the file.
    """
    if model is not None and str(model).endswith(".tflite"):
        from kcolor.deploy import tflite

        if precision != "auto":
            raise ConfigError("--precision does not apply to a .tflite model (its file fixes it).")
        return tflite.LiteColorizer(str(model), size)
    return make_colorizer(inference.load_model(model), size, precision)


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
    colorizer = make_colorizer(inference.load_model(model), size, precision)
    rgb = inference.read_image(image, max_pixels)
    results = inference.colorize_rgb(rgb, colorizer, samples, seed)
    images = [Image.fromarray(result) for result in results]
    return images if samples > 1 else images[0]
