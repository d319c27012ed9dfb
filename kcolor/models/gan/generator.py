"""The generator of Cao et al. 2017: stride 1, the gray image and the noise concatenated
to every layer's input (see :mod:`kcolor.models.gan`)."""

import warnings

import keras
import tensorflow as tf
from keras import ops

from kcolor.errors import ConfigError
from kcolor.models.base import (
    ColorizationModel,
    base_config,
    layer_policy,
    noise_planes,
)


def draw_noise(l_norm, channels, seed):
    """The GAN's noise for ``l_norm``'s images: float32 (B, H, W, channels).

    One value per channel and image, uniform in [-1, 1], spread over the image plane.

    Args:
        l_norm: float32 (B, H, W, 1).
        channels: noise channels of the generator.
        seed: an int for a repeatable draw, a ``keras.random.SeedGenerator``, or None.
    """
    shape = ops.shape(l_norm)
    draw = keras.random.uniform((shape[0], 1, 1, channels), minval=-1.0, maxval=1.0, seed=seed)
    return ops.broadcast_to(draw, (shape[0], shape[1], shape[2], channels))


def sample_colorings(generator, l_norm, samples: int, seed: int):
    """``samples`` colorings of each image from a generator (see
    :meth:`~kcolor.models.base.ColorizationModel.sample_ab`)."""
    return generator.sample_ab(l_norm, samples, seed)


def sample_colourings(generator, l_norm, samples: int, seed: int):
    """Deprecated alias of :func:`sample_colorings` (removed in kcolor 0.3)."""
    warnings.warn(
        "sample_colourings is deprecated; use sample_colorings", DeprecationWarning, stacklevel=2
    )
    return sample_colorings(generator, l_norm, samples, seed)


class NoiseConditioned(ColorizationModel):
    """A generator called on ``[l_norm, noise planes]``: the interface of
    :class:`~kcolor.models.base.ColorizationModel` for it."""

    def predict_ab(self, l_norm, noise=None, training=False):
        if noise is None:
            raise ValueError(f"{type(self).__name__} needs noise: (B, {self.noise_channels}).")
        l_norm = tf.convert_to_tensor(l_norm, tf.float32)
        return self([l_norm, noise_planes(noise, l_norm)], training=training)


def conv_initializer():
    # The reference initialises every convolution from a truncated normal, std 0.02.
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="kcolor")
class GuideOffset(keras.layers.Layer):
    """``[guide, offset]`` -> ``tanh(atanh(guide) + offset)``: a guide colouring
    (``ab_norm``, (B, H, W, 2)) moved by a network's output, still in (-1, 1).

    The guide is clipped to +-0.99 first: atanh is infinite at +-1, and no sRGB colour
    comes that close (|ab| reaches about 0.9 * 110).

    Args:
        limit: bound the offset to ``limit * tanh(offset)``; None: unbounded.
    """

    def __init__(self, limit=None, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, inputs):
        guide, offset = inputs
        guide = ops.clip(ops.cast(guide, "float32"), -0.99, 0.99)
        offset = ops.cast(offset, "float32")
        if self.limit is not None:
            offset = self.limit * ops.tanh(offset)
        return ops.tanh(0.5 * ops.log((1.0 + guide) / (1.0 - guide)) + offset)

    def get_config(self):
        return {**super().get_config(), "limit": self.limit}


def _check_layout(filters, kernel_sizes, noise_layers, guided, offset_limit) -> None:
    """Raise ConfigError for a generator layout that does not fit together."""
    if offset_limit is not None and not guided:
        raise ConfigError("offset_limit bounds a guided generator's offset: set guided=True.")
    if len(kernel_sizes) != len(filters) + 1:
        raise ConfigError(
            "kernel_sizes needs one entry per hidden convolution plus one for the "
            f"output convolution. Received: filters={filters}, kernel_sizes={kernel_sizes}"
        )
    if not 1 <= noise_layers <= len(kernel_sizes):
        raise ConfigError(
            f"noise_layers must be between 1 and {len(kernel_sizes)}. "
            f"Received: noise_layers={noise_layers}"
        )


def _hidden_block(parts, index, filters, kernel_size, momentum, policy):
    """concatenate -> conv (stride 1, same padding) -> batch norm -> ReLU."""
    name = f"block{index + 1}"
    x = keras.layers.Concatenate(name=f"{name}_concat", dtype=policy)(parts)
    x = keras.layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False,
        kernel_initializer=conv_initializer(), name=f"{name}_conv", dtype=policy,
    )(x)  # fmt: skip
    # Synchronized: statistics of the global batch under tf.distribute, so replicas
    # normalise alike and end with the same moving averages.
    x = keras.layers.BatchNormalization(
        momentum=momentum, epsilon=1e-5, synchronized=True, name=f"{name}_bn", dtype=policy
    )(x)
    return keras.layers.ReLU(name=f"{name}_relu", dtype=policy)(x)


def _output_block(parts, index, kernel_size, policy, guide_input, offset_limit):
    """concatenate -> conv to 2 channels -> tanh, or with a guide (``guide_input``, a
    list of one input or empty) the guide moved by the convolution (:class:`GuideOffset`).
    The output is float32 under mixed precision too: losses compare it with the photo's."""
    x = keras.layers.Concatenate(name=f"block{index + 1}_concat", dtype=policy)(parts)
    x = keras.layers.Conv2D(
        2, kernel_size, padding="same", use_bias=True, kernel_initializer=conv_initializer(),
        name="output_conv", dtype=policy,
    )(x)  # fmt: skip
    if guide_input:
        return GuideOffset(limit=offset_limit, name="ab_norm", dtype="float32")([*guide_input, x])
    return keras.layers.Activation("tanh", name="ab_norm", dtype="float32")(x)


@keras.saving.register_keras_serializable(package="kcolor")
class DiverseColorGenerator(NoiseConditioned, keras.Model):
    """The stride-1 colorization generator of Cao et al. 2017.

    Each of the ``len(filters)`` hidden blocks is concatenate -> conv (stride 1, same
    padding) -> batch norm -> ReLU; a last convolution with tanh gives ab. The gray input
    is concatenated to the input of every convolution, the noise to the input of the
    first ``noise_layers`` convolutions. Works on any height and width.

    Args:
        filters: channels of the hidden convolutions. Default (128, 64, 64, 64, 32), as
            the reference code.
        kernel_sizes: kernel side of each convolution, the output one included, so one
            more than ``filters``. Default (7, 5, 5, 5, 5, 5), as the reference.
        noise_channels: channels of the noise input.
        noise_layers: how many of the first convolutions receive the noise: 1 is the
            single-layer variant (the released code), 3 (the default) the paper's
            multi-layer variant ("the first half of the generator layers").
        batch_norm_momentum: moving-average momentum of the batch norms (0.9, as the
            reference).
        guided: takes a third input, a guide colouring (``ab_norm`` from another model,
            see :class:`GuidedColorGenerator`), concatenated to every convolution's input
            like the gray image; the output is then the guide moved by the network:
            ``tanh(atanh(guide) + last convolution)``, so an untrained network starts at
            the guide and learns where and how to vary it. Not in the paper.
        offset_limit: with ``guided``, bound the offset to ``offset_limit *
            tanh(last convolution)`` (0.08 moves a gray guide by at most about 9 Lab
            units), so no draw strays far from the guide; None: unbounded.

    Inputs:
        ``[l_norm, noise]``: float32 (B, H, W, 1) with ``L / 50 - 1`` and float32
        (B, H, W, noise_channels), in [-1, 1] as the GAN draws it. With ``guided``:
        ``[l_norm, noise, guide]``, the guide float32 (B, H, W, 2) ``ab_norm``.

    Returns:
        ``ab_norm``: float32 (B, H, W, 2), channel order a, b, ``ab / 110`` in [-1, 1].

    Example:
        ```python
        generator = DiverseColorGenerator()
        l_norm = tf.zeros([1, 64, 96, 1])
        noise = tf.random.uniform([1, 64, 96, generator.noise_channels], -1, 1)
        ab_norm = generator([l_norm, noise])  # (1, 64, 96, 2)
        ```
    """

    def __init__(
        self,
        filters=(128, 64, 64, 64, 32),
        kernel_sizes=(7, 5, 5, 5, 5, 5),
        noise_channels=8,
        noise_layers=3,
        batch_norm_momentum=0.9,
        guided=False,
        offset_limit=None,
        **kwargs,
    ):
        filters, kernel_sizes = list(filters), list(kernel_sizes)
        _check_layout(filters, kernel_sizes, noise_layers, guided, offset_limit)

        # === Functional Model ===
        policy = layer_policy(kwargs)
        l_input = keras.Input(shape=(None, None, 1), name="l_norm")
        noise_input = keras.Input(shape=(None, None, noise_channels), name="noise")
        inputs = [l_input, noise_input]
        if guided:
            inputs.append(keras.Input(shape=(None, None, 2), name="guide"))
        condition = [l_input] + inputs[2:]  # concatenated to every convolution's input
        x = None
        for index, width in enumerate(filters):
            noise = [noise_input] if index < noise_layers else []
            parts = condition + ([x] if x is not None else []) + noise
            x = _hidden_block(parts, index, width, kernel_sizes[index], batch_norm_momentum, policy)
        parts = condition + [x] + ([noise_input] if len(filters) < noise_layers else [])
        x = _output_block(parts, len(filters), kernel_sizes[-1], policy, inputs[2:], offset_limit)
        super().__init__(inputs=inputs, outputs=x, **kwargs)
        self.dtype_policy = policy

        # === Config ===
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.noise_channels = noise_channels
        self.noise_layers = noise_layers
        self.batch_norm_momentum = batch_norm_momentum
        self.guided = guided
        self.offset_limit = offset_limit

    def get_config(self):
        # Not chained to Functional.get_config: that describes the graph, and the
        # constructor takes the architecture arguments instead.
        return {
            **base_config(self),
            "filters": self.filters,
            "kernel_sizes": self.kernel_sizes,
            "noise_channels": self.noise_channels,
            "noise_layers": self.noise_layers,
            "batch_norm_momentum": self.batch_norm_momentum,
            "guided": self.guided,
            "offset_limit": self.offset_limit,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
