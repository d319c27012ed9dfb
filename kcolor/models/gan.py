"""Cao et al. 2017, *Unsupervised Diverse Colorization via Generative Adversarial Networks*.

A conditional GAN whose generator never changes resolution: every convolution has stride
1 and sees the gray image L concatenated to its input, so each output pixel is computed at
full resolution; noise concatenated to the first layers makes each draw a different,
plausible colouring. The critic scores (L, ab) pairs; training is a Wasserstein GAN with
weight clipping (the paper) or a gradient penalty, or a standard cross-entropy GAN.

Tensors follow kcolor's model contract (:mod:`kcolor.color`): ``L_norm = L / 50 - 1`` in
[-1, 1], shape (B, H, W, 1); ``ab_norm = ab / 110``, shape (B, H, W, 2), channel order a, b.

Reference: https://arxiv.org/abs/1702.06674 and its code, github.com/ccyyatnet/COLORGAN.
docs/papers.md maps the paper to this file and lists where kcolor departs from it.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kcolor import color
from kcolor.errors import ConfigError
from kcolor.models.base import ColorizationModel, base_config, layer_policy, noise_planes

_LOSSES = ("wasserstein", "cross_entropy")
_NORMALIZATIONS = ("batch", "layer", "none")


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


class _NoiseConditioned(ColorizationModel):
    """A generator called on ``[l_norm, noise planes]``: the interface of
    :class:`~kcolor.models.base.ColorizationModel` for it."""

    def predict_ab(self, l_norm, noise=None, training=False):
        if noise is None:
            raise ValueError(f"{type(self).__name__} needs noise: (B, {self.noise_channels}).")
        l_norm = tf.convert_to_tensor(l_norm, tf.float32)
        return self([l_norm, noise_planes(noise, l_norm)], training=training)


def gan_parts(model):
    """``(generator, critic, guide)`` of a :class:`DiverseColorGAN`, a
    :class:`GuidedColorGenerator` or a bare :class:`DiverseColorGenerator`: the unguided
    generator, and the critic and guide where the model has them (else None).

    Raises:
        ValueError: ``model`` is none of these.
    """
    critic = None
    if isinstance(model, DiverseColorGAN):
        model, critic = model.generator, model.critic
    guide = None
    if isinstance(model, GuidedColorGenerator):
        model, guide = model.generator, model.guide
    if not isinstance(model, DiverseColorGenerator):
        raise ValueError(f"{type(model).__name__} is not a GAN or GAN generator")
    return model, critic, guide


def _conv_initializer():
    # The reference initialises every convolution from a truncated normal, std 0.02.
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="kcolor")
class DiverseColorGenerator(_NoiseConditioned, keras.Model):
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
        if offset_limit is not None and not guided:
            raise ConfigError("offset_limit bounds a guided generator's offset: set guided=True.")
        filters, kernel_sizes = list(filters), list(kernel_sizes)
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

        # === Functional Model ===
        policy = layer_policy(kwargs)
        l_input = keras.Input(shape=(None, None, 1), name="l_norm")
        noise_input = keras.Input(shape=(None, None, noise_channels), name="noise")
        inputs = [l_input, noise_input]
        condition = [l_input]
        if guided:
            guide_input = keras.Input(shape=(None, None, 2), name="guide")
            inputs.append(guide_input)
            condition.append(guide_input)
        x = None
        for index, kernel_size in enumerate(kernel_sizes):
            parts = condition + ([x] if x is not None else [])
            if index < noise_layers:
                parts.append(noise_input)
            x = keras.layers.Concatenate(name=f"block{index + 1}_concat", dtype=policy)(parts)
            is_output = index == len(filters)
            x = keras.layers.Conv2D(
                2 if is_output else filters[index],
                kernel_size,
                padding="same",
                use_bias=is_output,
                kernel_initializer=_conv_initializer(),
                name="output_conv" if is_output else f"block{index + 1}_conv",
                dtype=policy,
            )(x)
            if is_output and guided:
                x = GuideOffset(limit=offset_limit, name="ab_norm", dtype="float32")(
                    [guide_input, x]
                )
            elif is_output:
                # float32 under mixed precision too: losses compare it with the photo's ab.
                x = keras.layers.Activation("tanh", name="ab_norm", dtype="float32")(x)
            else:
                # Synchronized: statistics of the global batch under tf.distribute, so
                # replicas normalise alike and end with the same moving averages.
                x = keras.layers.BatchNormalization(
                    momentum=batch_norm_momentum,
                    epsilon=1e-5,
                    synchronized=True,
                    name=f"block{index + 1}_bn",
                    dtype=policy,
                )(x)
                x = keras.layers.ReLU(name=f"block{index + 1}_relu", dtype=policy)(x)
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


def _with_models(config: dict, *keys) -> dict:
    """A copy of a composite model's config with the nested models under ``keys`` built."""
    config = dict(config)
    for key in keys:
        config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


def _freeze(layer) -> None:
    """Make ``layer`` and every layer inside it untrainable. Layer by layer: a model
    built from a config that says ``trainable: False`` ignores a later ``trainable =
    False`` for the layers it holds (Keras 3.x), so their weights would still train."""
    layer.trainable = False
    for inner in getattr(layer, "layers", []):
        _freeze(inner)


@keras.saving.register_keras_serializable(package="kcolor")
class GuidedColorGenerator(_NoiseConditioned, keras.Model):
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
        _freeze(self.guide)
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
        return cls(**_with_models(config, "generator", "guide"))


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
                kernel_initializer=_conv_initializer(),
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


@keras.saving.register_keras_serializable(package="kcolor")
class DiverseColorGAN(ColorizationModel, keras.Model):
    """Generator and critic trained together with ``fit`` (custom ``train_step``).

    Calling the model colorizes with a fresh noise draw; :meth:`sample` gives several
    colourings of each image; :meth:`noise` draws the noise (repeatably with a seed).
    The noise is one value per channel and image, uniform in [-1, 1], spread over the
    image plane, so the generator runs at any size.

    Args:
        generator: a :class:`DiverseColorGenerator` (built with defaults if None).
        critic: a :class:`ColorCritic` (built with defaults if None).
        seed: int seed of the model's noise stream, or None.

    Example:
        ```python
        gan = DiverseColorGAN(critic=ColorCritic(image_size=64))
        gan.compile()  # WGAN with weight clipping and RMSprop, as the paper
        gan.fit(kcolor.data.lab_dataset("photos/", 64, 64), epochs=10)
        ab_norm = gan.sample(l_norm, 4)  # (B, 4, H, W, 2)
        ```
    """

    def __init__(self, generator=None, critic=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator if generator is not None else DiverseColorGenerator()
        self.critic = critic if critic is not None else ColorCritic()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.distance_tracker = keras.metrics.Mean(name="critic_gap")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.ab_error_tracker = keras.metrics.Mean(name="ab_mae")
        # Generator and critic are functional models, built at construction.
        self.built = True

    @property
    def metrics(self):
        # Listed so fit() resets them at the start of every epoch.
        return [
            self.critic_loss_tracker,
            self.generator_loss_tracker,
            self.distance_tracker,
            self.penalty_tracker,
            self.ab_error_tracker,
        ]

    def colorizing_network(self):
        return self.generator

    @property
    def noise_channels(self):
        return self.generator.noise_channels

    def predict_ab(self, l_norm, noise=None, training=False):
        return self.generator.predict_ab(l_norm, noise, training)

    def learning_rates(self) -> dict:
        """Both optimizers' current learning rates, as the training logs name them."""
        return {
            "generator_learning_rate": float(np.asarray(self.generator_optimizer.learning_rate)),
            "critic_learning_rate": float(np.asarray(self.critic_optimizer.learning_rate)),
        }

    def noise(self, l_norm, seed=None):
        """Noise for ``l_norm``'s images: float32 (B, H, W, noise_channels) in [-1, 1].

        Args:
            l_norm: float32 (B, H, W, 1).
            seed: an int for a repeatable draw; None draws from the model's stream.
        """
        return draw_noise(
            l_norm,
            self.generator.noise_channels,
            self.seed_generator if seed is None else seed,
        )

    def call(self, l_norm, training=False):
        return self.generator([l_norm, self.noise(l_norm)], training=training)

    def sample(self, l_norm, n, seed=None):
        """``n`` colourings of each image, one noise draw each.

        Args:
            l_norm: float32 (B, H, W, 1), ``L / 50 - 1``.
            n: colourings per image.
            seed: an int: colouring ``k`` (from 0) of every image is the one of seed
                ``seed + k`` (see :meth:`ColorizationModel.sample_ab
                <kcolor.models.base.ColorizationModel.sample_ab>`); None draws from the
                model's noise stream.

        Returns:
            float32 (B, n, H, W, 2): ``ab_norm`` of each colouring.
        """
        if seed is not None:
            return self.generator.sample_ab(l_norm, n, seed)
        l_norm = ops.convert_to_tensor(l_norm, "float32")
        shape = ops.shape(l_norm)
        repeated = ops.reshape(
            ops.repeat(l_norm[:, None], n, axis=1), (shape[0] * n, shape[1], shape[2], 1)
        )
        ab_norm = self.generator([repeated, self.noise(repeated)], training=False)
        return ops.reshape(ab_norm, (shape[0], n, shape[1], shape[2], 2))

    def compile(
        self,
        generator_optimizer=None,
        critic_optimizer=None,
        loss="wasserstein",
        critic_steps=5,
        clip_value=0.01,
        gradient_penalty=None,
        l1_weight=0.0,
        l1_best_of=1,
        **kwargs,
    ):
        """Set up training.

        Args:
            generator_optimizer: default RMSprop(1e-4, rho=0.9), as the reference.
            critic_optimizer: default RMSprop(2e-4, rho=0.9), as the reference.
            loss: "wasserstein" (the paper) or "cross_entropy" (a standard GAN on the
                critic's logits, non-saturating generator loss).
            critic_steps: critic updates per generator update (5, as the paper). Each
                ``train_step`` makes them all on its batch, with fresh noise each time.
            clip_value: clip every critic weight to [-clip_value, clip_value] after each
                critic update (0.01, the paper); None to switch clipping off.
            gradient_penalty: weight of the WGAN-GP penalty (10.0 is usual); None for
                none. Use either this or ``clip_value``, and a critic without batch
                norm (``ColorCritic(normalization="layer")``).
            l1_weight: weight of an L1 term pulling the colours towards the photo's (0,
                as the paper, which is purely adversarial).
            l1_best_of: draw this many colourings of each image in the generator step
                and pull only the one closest to the photo towards it (the L1 term of
                the best of N; 1: the single colouring). With N > 1 the term asks that
                one of the draws be right, not that every draw be the average colour,
                so the noise keeps its say. Not in the paper.
        """
        if loss not in _LOSSES:
            raise ConfigError(f"loss must be one of {_LOSSES}. Received: loss={loss!r}")
        if critic_steps < 1:
            raise ConfigError(f"critic_steps must be >= 1. Received: {critic_steps}")
        if l1_best_of < 1:
            raise ConfigError(f"l1_best_of must be >= 1. Received: {l1_best_of}")
        if clip_value is not None and gradient_penalty is not None:
            raise ConfigError(
                "Use weight clipping or a gradient penalty, not both. Received: "
                f"clip_value={clip_value}, gradient_penalty={gradient_penalty}"
            )
        if gradient_penalty is not None and self.critic.normalization == "batch":
            raise ConfigError(
                "A gradient penalty needs a critic without batch norm (the penalty is "
                "per sample; batch norm mixes samples). Build the critic with "
                "ColorCritic(normalization='layer') or 'none'."
            )
        self.generator_optimizer = generator_optimizer or keras.optimizers.RMSprop(1e-4, rho=0.9)
        self.critic_optimizer = critic_optimizer or keras.optimizers.RMSprop(2e-4, rho=0.9)
        # The generator's optimizer is also the model's, so what Keras reads from
        # model.optimizer (TensorBoard's learning rate and steps/s) describes the run.
        super().compile(optimizer=self.generator_optimizer, **kwargs)
        self.loss_kind = loss
        self.critic_steps = int(critic_steps)
        self.clip_value = clip_value
        self.gradient_penalty_weight = gradient_penalty
        self.l1_weight = float(l1_weight)
        self.l1_best_of = int(l1_best_of)
        # Built now so checkpoints and BackupAndRestore see their slots before fit.
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)

    def get_compile_config(self):
        if not self.compiled:
            return None
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "critic_optimizer": keras.saving.serialize_keras_object(self.critic_optimizer),
            "loss": self.loss_kind,
            "critic_steps": self.critic_steps,
            "clip_value": self.clip_value,
            "gradient_penalty": self.gradient_penalty_weight,
            "l1_weight": self.l1_weight,
            "l1_best_of": self.l1_best_of,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", "critic_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    # --- losses -------------------------------------------------------------------

    def _critic_loss(self, real_score, fake_score):
        if self.loss_kind == "wasserstein":
            return ops.mean(fake_score) - ops.mean(real_score)
        real = keras.losses.binary_crossentropy(
            ops.ones_like(real_score), real_score, from_logits=True
        )
        fake = keras.losses.binary_crossentropy(
            ops.zeros_like(fake_score), fake_score, from_logits=True
        )
        return ops.mean(real) + ops.mean(fake)

    def _generator_adversarial_loss(self, fake_score):
        if self.loss_kind == "wasserstein":
            return -ops.mean(fake_score)
        return ops.mean(
            keras.losses.binary_crossentropy(
                ops.ones_like(fake_score), fake_score, from_logits=True
            )
        )

    def _gradient_penalty(self, l_norm, ab_real, ab_fake):
        # Interpolate only ab: L is the condition, the same for both.
        alpha = keras.random.uniform(
            (ops.shape(ab_real)[0], 1, 1, 1), 0.0, 1.0, seed=self.seed_generator
        )
        mixed = ab_real + alpha * (ab_fake - ab_real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            score = self.critic([l_norm, mixed], training=True)
        slopes = tape.gradient(score, mixed)
        # The small constant keeps sqrt's gradient finite where a slope is exactly 0.
        norm = ops.sqrt(ops.sum(ops.square(slopes), axis=[1, 2, 3]) + 1e-12)
        return ops.mean(ops.square(norm - 1.0))

    # --- training -------------------------------------------------------------------

    def _guide_of(self, l_norm):
        """The guide colouring of a guided generator (computed once per batch), or None."""
        if isinstance(self.generator, GuidedColorGenerator):
            return self.generator.guide_ab(l_norm)
        return None

    def _generate(self, l_norm, guide_ab, training):
        if guide_ab is None:
            return self(l_norm, training=training)
        return self.generator.colorize(l_norm, self.noise(l_norm), guide_ab, training=training)

    def _critic_step(self, l_norm, ab_real, guide_ab, replicas):
        ab_fake = ops.stop_gradient(self._generate(l_norm, guide_ab, training=True))
        with tf.GradientTape() as tape:
            real_score = self.critic([l_norm, ab_real], training=True)
            fake_score = self.critic([l_norm, ab_fake], training=True)
            loss = self._critic_loss(real_score, fake_score)
            penalty = ops.zeros(())
            if self.gradient_penalty_weight is not None:
                penalty = self._gradient_penalty(l_norm, ab_real, ab_fake)
                loss = loss + self.gradient_penalty_weight * penalty
            # Each replica holds part of the global batch; the optimizer sums replicas.
            scaled = loss / replicas
        weights = self.critic.trainable_variables
        self.critic_optimizer.apply(tape.gradient(scaled, weights), weights)
        if self.clip_value is not None:
            for weight in weights:
                weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))
        gap = ops.mean(real_score) - ops.mean(fake_score)
        return loss, penalty, gap

    def _generator_step(self, l_norm, ab_real, guide_ab, replicas):
        with tf.GradientTape() as tape:
            ab_fake = self._generate(l_norm, guide_ab, training=True)
            fake_score = self.critic([l_norm, ab_fake], training=True)
            loss = self._generator_adversarial_loss(fake_score)
            ab_error = ops.mean(ops.abs(ab_fake - ab_real))
            if self.l1_weight:
                loss = loss + self.l1_weight * self._best_of_l1(l_norm, ab_real, guide_ab, ab_fake)
            scaled = loss / replicas
        weights = self.generator.trainable_variables
        self.generator_optimizer.apply(tape.gradient(scaled, weights), weights)
        return loss, ab_error

    def _best_of_l1(self, l_norm, ab_real, guide_ab, ab_fake):
        """Mean over images of the smallest per-image L1 error among ``ab_fake`` and
        ``l1_best_of - 1`` more draws (``ab_norm`` units)."""
        errors = [ops.mean(ops.abs(ab_fake - ab_real), axis=[1, 2, 3])]
        for _ in range(self.l1_best_of - 1):
            more = self._generate(l_norm, guide_ab, training=True)
            errors.append(ops.mean(ops.abs(more - ab_real), axis=[1, 2, 3]))
        return ops.mean(ops.min(ops.stack(errors), axis=0))

    def train_step(self, data):
        l_norm, ab_real, _ = keras.utils.unpack_x_y_sample_weight(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        guide_ab = self._guide_of(l_norm)
        for _ in range(self.critic_steps):
            critic_loss, penalty, gap = self._critic_step(l_norm, ab_real, guide_ab, replicas)
        generator_loss, ab_error = self._generator_step(l_norm, ab_real, guide_ab, replicas)
        return self._update_metrics(critic_loss, generator_loss, gap, penalty, ab_error)

    def test_step(self, data):
        l_norm, ab_real, _ = keras.utils.unpack_x_y_sample_weight(data)
        ab_fake = self(l_norm, training=False)
        real_score = self.critic([l_norm, ab_real], training=False)
        fake_score = self.critic([l_norm, ab_fake], training=False)
        ab_error = ops.mean(ops.abs(ab_fake - ab_real))
        generator_loss = self._generator_adversarial_loss(fake_score)
        if self.l1_weight:
            generator_loss = generator_loss + self.l1_weight * ab_error
        gap = ops.mean(real_score) - ops.mean(fake_score)
        return self._update_metrics(
            self._critic_loss(real_score, fake_score), generator_loss, gap, ops.zeros(()), ab_error
        )

    def _update_metrics(self, critic_loss, generator_loss, gap, penalty, ab_error):
        self.critic_loss_tracker.update_state(critic_loss)
        self.generator_loss_tracker.update_state(generator_loss)
        self.distance_tracker.update_state(gap)
        self.penalty_tracker.update_state(penalty)
        # Reported in Lab units, so it reads like a colour difference.
        self.ab_error_tracker.update_state(ab_error * color.AB_SCALE)
        return {metric.name: metric.result() for metric in self.metrics}

    # --- serialization ----------------------------------------------------------------

    def get_config(self):
        return {
            **base_config(self),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_with_models(config, "generator", "critic"))
