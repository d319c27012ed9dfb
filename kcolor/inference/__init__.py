"""The colorize path at full resolution.

kcolor.inference.reading    photos to upright 8-bit RGB, the pixel limit checked first.
kcolor.inference.interface  what every colorizer offers; the one samples/seed rule.
kcolor.inference.colorizer  the Keras colorizer: processing size, the network's graph.
kcolor.inference.composing  predicted colour joined with the photo's full-size lightness.
kcolor.inference.loading    models by name or file, once per process.

``kcolor.colorize``, ``kcolor.make_colorizer`` and ``kcolor.load_model`` (in
:mod:`kcolor.api`) are the usual entry points; the names here are the steps they use.
"""

import warnings

from kcolor.errors import ImageReadError, ImageTooLarge
from kcolor.inference.colorizer import (
    Colorizer,
    colorize_rgb,
    lightness_input,
    processing_shape,
)
from kcolor.inference.composing import (
    color_pixels,
    compose,
    gray_from_lightness,
    to_uint8,
    upsample_rows,
)
from kcolor.inference.interface import BaseColorizer, check_samples, choose_seed, random_seed
from kcolor.inference.loading import load_model
from kcolor.inference.reading import (
    check_pixels,
    decode_photo,
    exif_orientation,
    read_file,
    read_image,
    upright_bytes,
)
from kcolor.limits import DEFAULT_MAX_PIXELS

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
