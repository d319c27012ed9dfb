"""The critic of Cao et al. 2017: scores (L, ab) pairs (see :mod:`kcolor.models.gan`)."""

import keras

from kcolor.errors import ConfigError
from kcolor.models.base import (
    base_config,
    layer_policy,
)
from kcolor.models.gan.generator import conv_initializer

_NORMALIZATIONS = ("batch", "layer", "none")


@keras.saving.register_keras_serializable(package="kcolor")
class ColorCritic(keras.Model):
    """The conditional critic (discriminator) of Cao et al. 2017.

    Scores an (L, ab) pair: four 5x5 convolutions of stride 2 with leaky ReLU (slope
    0.2), normalisation after all but the first, then two dense layers to one unbounded
    score (no sigmoid: a Wasserstein critic, or logits for the cross-entropy loss).

    Args:
        image_size: side of the square inputs it scores (the training crop size).
        filters: channels of the strided convolutions. Default (64, 128, 256, 512).
        kernel_size: side of the convolution kernels (5).
        dense_units: width of the hidden dense layer (64).
        normalization: "batch" (the reference), "layer" (use it with a gradient
            penalty, which is defined per sample) or "none".

    Inputs:
        ``[l_norm, ab_norm]``: float32 (B, image_size, image_size, 1) and (..., 2).

    Returns:
        float32 (B, 1) scores: higher means "more like a real photo".
    """

    def __init__(
        self,
        image_size=64,
        filters=(64, 128, 256, 512),
        kernel_size=5,
        dense_units=64,
        normalization="batch",
        **kwargs,
    ):
        if normalization not in _NORMALIZATIONS:
            raise ConfigError(
                f"normalization must be one of {_NORMALIZATIONS}. "
                f"Received: normalization={normalization!r}"
            )
        filters = list(filters)

        # === Functional Model ===
        policy = layer_policy(kwargs)
        l_input = keras.Input(shape=(image_size, image_size, 1), name="l_norm")
        ab_input = keras.Input(shape=(image_size, image_size, 2), name="ab_norm")
        x = keras.layers.Concatenate(name="lab", dtype=policy)([l_input, ab_input])
        for index, width in enumerate(filters):
            x = keras.layers.Conv2D(
                width,
                kernel_size,
                strides=2,
                padding="same",
                kernel_initializer=conv_initializer(),
                name=f"block{index + 1}_conv",
                dtype=policy,
            )(x)
            if index > 0 and normalization == "batch":
                x = keras.layers.BatchNormalization(
                    momentum=0.9,
                    epsilon=1e-5,
                    synchronized=True,
                    name=f"block{index + 1}_bn",
                    dtype=policy,
                )(x)
            elif index > 0 and normalization == "layer":
                x = keras.layers.LayerNormalization(
                    axis=[1, 2, 3], epsilon=1e-5, name=f"block{index + 1}_ln", dtype=policy
                )(x)
            x = keras.layers.LeakyReLU(
                negative_slope=0.2, name=f"block{index + 1}_lrelu", dtype=policy
            )(x)
        x = keras.layers.Flatten(name="flatten", dtype=policy)(x)
        x = keras.layers.Dense(dense_units, name="dense", dtype=policy)(x)
        score = keras.layers.Dense(1, name="score", dtype="float32")(x)
        super().__init__(inputs=[l_input, ab_input], outputs=score, **kwargs)
        self.dtype_policy = policy

        # === Config ===
        self.image_size = image_size
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.normalization = normalization

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "normalization": self.normalization,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
