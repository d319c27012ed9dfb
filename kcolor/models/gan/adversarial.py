"""The GAN as Keras trains it: generator and critic, the Wasserstein (or cross-entropy)
losses and the custom ``train_step`` (see :mod:`kcolor.models.gan`)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kcolor import color
from kcolor.errors import ConfigError
from kcolor.models.base import (
    ColorizationModel,
    base_config,
    with_nested_models,
)
from kcolor.models.gan.critic import ColorCritic
from kcolor.models.gan.generator import DiverseColorGenerator, draw_noise
from kcolor.models.gan.guided import GuidedColorGenerator

_LOSSES = ("wasserstein", "cross_entropy")


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
        return cls(**with_nested_models(config, "generator", "critic"))
