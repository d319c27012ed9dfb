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

import weakref

import numpy as np
import tensorflow as tf

from kcolor import color, images
from kcolor import precision as precision_module
from kcolor.errors import ConfigError
from kcolor.inference.composing import compose
from kcolor.inference.interface import BaseColorizer
from kcolor.limits import MAX_ASPECT
from kcolor.models.base import ColorizationModel


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


def colorize_rgb(
    rgb: np.ndarray, colorizer: Colorizer, samples: int = 1, seed: int | None = None
) -> list[np.ndarray]:
    """Colorize one photo; returns ``samples`` uint8 RGB arrays of the photo's size."""
    ab = colorizer.predict_ab(colorizer.model_input(rgb), samples, seed)[0]
    return [compose(rgb, ab[index]) for index in range(samples)]
