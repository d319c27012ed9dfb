"""The Keras colorize path at full resolution (:mod:`kcolor.inference.colorizer`) and the
interface every colorizer shares (:mod:`kcolor.inference.interface`).

``kcolor.colorize``, ``kcolor.make_colorizer`` and ``kcolor.load_model`` (in
:mod:`kcolor.api`) are the usual entry points; the names here are the steps they use.
"""

import warnings

from kcolor.errors import ImageReadError, ImageTooLarge
from kcolor.inference.colorizer import (
    DEFAULT_MAX_PIXELS,
    Colorizer,
    check_pixels,
    color_pixels,
    colorize_rgb,
    compose,
    decode_photo,
    exif_orientation,
    gray_from_lightness,
    lightness_input,
    load_model,
    processing_shape,
    read_file,
    read_image,
    to_uint8,
    upright_bytes,
    upsample_rows,
)
from kcolor.inference.interface import BaseColorizer, check_samples, choose_seed, random_seed

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "BaseColorizer",
    "Colorizer",
    "ImageReadError",
    "ImageTooLarge",
    "check_pixels",
    "check_samples",
    "choose_seed",
    "color_pixels",
    "colorize_rgb",
    "compose",
    "decode_photo",
    "exif_orientation",
    "gray_from_lightness",
    "lightness_input",
    "load_model",
    "processing_shape",
    "random_seed",
    "read_file",
    "read_image",
    "to_uint8",
    "upright_bytes",
    "upsample_rows",
]


def colour_pixels(rgb, ab_norm):
    """Deprecated alias of :func:`color_pixels` (removed in kcolor 0.3)."""
    warnings.warn("colour_pixels is deprecated; use color_pixels", DeprecationWarning, stacklevel=2)
    return color_pixels(rgb, ab_norm)
