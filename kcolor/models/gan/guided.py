"""kcolor's guided generator: a frozen colorizer's colouring, varied by the GAN
generator's noise (not in the paper; see :mod:`kcolor.models.gan`)."""

import keras
from keras import ops

from kcolor.errors import ConfigError
from kcolor.models.base import (
    base_config,
    with_nested_models,
)
from kcolor.models.gan.generator import NoiseConditioned


def freeze(layer) -> None:
    """Make ``layer`` and every layer inside it untrainable. Layer by layer: a model
    built from a config that says ``trainable: False`` ignores a later ``trainable =
    False`` for the layers it holds (Keras 3.x), so their weights would still train."""
    layer.trainable = False
    for inner in getattr(layer, "layers", []):
        freeze(inner)


@keras.saving.register_keras_serializable(package="kcolor")
class GuidedColorGenerator(NoiseConditioned, keras.Model):
    """Guided diverse colorization: a frozen colorizer says what colour the scene is, the
    GAN generator varies the colours around it.

    Cao et al.'s stride-1 generator sees 27 pixels around each pixel (its receptive
    field) and must learn from that alone what colour goes where, which works within one
    narrow kind of scene but not on everyday photos. Here the generator also receives a
    guide, the frozen :class:`~kcolor.models.HypercolumnColorizer`'s colouring of the
    same gray image, and outputs the guide moved by its own noise-driven offset (see
    :class:`DiverseColorGenerator`'s ``guided``). Called like a plain generator, so every
    colorize, export and TFLite path takes it as one; its SavedModel and TFLite graphs
    contain both networks. No published colorizer offers this: it is kcolor's own.

    Args:
        generator: a :class:`DiverseColorGenerator` built with ``guided=True``.
        guide: the colorizer whose ``ab_norm`` output guides it (not trained here).

    Inputs:
        ``[l_norm, noise]``: float32 (B, H, W, 1) with ``L / 50 - 1`` and float32
        (B, H, W, noise_channels) in [-1, 1].

    Returns:
        ``ab_norm``: float32 (B, H, W, 2), channel order a, b, ``ab / 110``.

    Example:
        ```python
        guided = GuidedColorGenerator(
            DiverseColorGenerator(guided=True), kcolor.load_model("hypercolumn")
        )
        gan = DiverseColorGAN(guided, ColorCritic(image_size=64, normalization="layer"))
        ```
    """

    def __init__(self, generator, guide, **kwargs):
        super().__init__(**kwargs)
        if not getattr(generator, "guided", False):
            raise ConfigError(
                "GuidedColorGenerator needs a DiverseColorGenerator built with guided=True."
            )
        self.generator = generator
        self.guide = guide
        if not guide.built:
            # Built first: freezing reaches only the layers that exist when it is set.
            guide(ops.zeros((1, 32, 32, 1)))
        freeze(self.guide)
        self.noise_channels = generator.noise_channels
        self.built = True

    def guide_ab(self, l_norm):
        """The guide's colouring of ``l_norm``: float32 (B, H, W, 2) ``ab_norm``, never
        differentiated (the guide is fixed)."""
        return ops.stop_gradient(ops.cast(self.guide(l_norm, training=False), "float32"))

    def colorize(self, l_norm, noise, guide_ab, training=False):
        """The generator's colouring around an already computed ``guide_ab`` (training
        reuses one guide for all critic steps of a batch)."""
        return self.generator([l_norm, noise, guide_ab], training=training)

    def call(self, inputs, training=False):
        l_norm, noise = inputs
        return self.colorize(l_norm, noise, self.guide_ab(l_norm), training=training)

    def get_config(self):
        return {
            **base_config(self),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "guide": keras.saving.serialize_keras_object(self.guide),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**with_nested_models(config, "generator", "guide"))
