"""What every kcolor model offers the code that runs it.

Inference, export, TFLite conversion and the training callbacks use a model only through
this interface, so they never ask which kind of model they hold:

- ``input_multiple``: processing sides must be multiples of it (16 for the hypercolumn
  model, whose VGG16 trunk pools four times; 1 for the stride-1 GAN generator).
- ``noise_channels``: length of the noise vector each colouring is drawn from; 0 for a
  model that gives one colouring per image.
- ``colorizing_network()``: the Keras model that computes the colours (a GAN's generator;
  the model itself otherwise). Inference, export and conversion run it alone.
- ``predict_ab(l_norm, noise)``: ab for a batch, with one noise vector per image.
- ``seeded_ab(l_norm, seeds)``: ab with image ``i``'s noise drawn from ``seeds[i]``.
- ``sample_ab(l_norm, samples, seed)``: several colourings of each image.

Tensors follow kcolor's model contract (:mod:`kcolor.color`): ``l_norm = L / 50 - 1``,
float32 (B, H, W, 1); ``ab_norm = ab / 110``, float32 (B, H, W, 2), channel order a, b.
"""

import keras
import numpy as np
import tensorflow as tf

from kcolor.errors import ModelFileError


def base_config(model: keras.Model) -> dict:
    """The arguments every Keras model takes back: name, trainable and dtype policy."""
    return {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": keras.dtype_policies.serialize(model.dtype_policy),
    }


def layer_policy(kwargs: dict):
    """Take ``dtype`` out of a functional model's keyword arguments: the dtype policy its
    layers are built with (the global policy when none is given). Keras' functional
    models ignore ``dtype`` themselves, as their layers carry their own."""
    dtype = kwargs.pop("dtype", None)
    if dtype is None:
        return keras.mixed_precision.global_policy()
    return keras.dtype_policies.get(dtype)


def with_nested_models(config: dict, *keys) -> dict:
    """A copy of a composite model's config with the nested models under ``keys`` built."""
    config = dict(config)
    for key in keys:
        config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


def noise_of_seeds(seeds, channels: int):
    """The noise vector of each seed: float32 (N, channels), uniform in [-1, 1].

    The one function every colorize path draws its noise with (``kcolor colorize``,
    ``kcolor.colorize``, the SavedModel, the TFLite runner), so a seed means one colouring
    everywhere. A vector depends on its seed alone: never on the batch it is drawn in.
    (Keras' integer seeds become the stateless seed ``(seed mod (2^31 - 2), 0)``, so
    ``noise_of_seeds([s], c)`` equals ``keras.random.uniform((1, c), -1, 1, seed=s)``.)

    Args:
        seeds: int tensor or sequence (N,).
        channels: noise channels of the generator.
    """
    seeds = tf.math.floormod(tf.cast(seeds, tf.int64), tf.int32.max - 1)
    pairs = tf.stack([tf.cast(seeds, tf.int32), tf.zeros_like(seeds, tf.int32)], axis=-1)
    return tf.map_fn(
        lambda pair: tf.random.stateless_uniform((channels,), seed=pair, minval=-1.0, maxval=1.0),
        pairs,
        fn_output_signature=tf.TensorSpec((channels,), tf.float32),
    )


def sample_seeds(images, samples, seed):
    """Seeds of ``samples`` colourings of each of ``images`` photos: int64 (images *
    samples,), photo-major. Colouring ``k`` (from 0) of every photo uses ``seed + k``, so
    ``--samples 3 --seed S`` gives the colourings of ``--seed S``, ``S + 1`` and ``S + 2``
    whatever the batch."""
    samples = tf.cast(samples, tf.int64)
    return tf.tile(tf.range(samples, dtype=tf.int64) + tf.cast(seed, tf.int64), [images])


class ColorizationModel:
    """The interface above, mixed into each kcolor ``keras.Model``.

    Subclasses set ``input_multiple`` and ``noise_channels`` and implement
    :meth:`predict_ab`; a model wrapping another colorizing network (the GAN) overrides
    :meth:`colorizing_network`. A model is built (its weights exist) once constructed:
    inference copies models through ``from_config`` (:mod:`kcolor.precision`) and gives
    the copy the weights. A new model kind registers itself in
    :mod:`kcolor.models.registry`.
    """

    input_multiple = 1
    noise_channels = 0
    # Whether precision "auto" may run it in bfloat16 where the CPU computes that
    # natively: true for plain convolutions, not for networks bfloat16 slows down.
    bfloat16_is_faster = True

    @classmethod
    def from_preset(cls, name: str):
        """A bundled trained model (``"hypercolumn"``, ``"gan"``; see
        :mod:`kcolor.models.presets`) with its checked weights.

        Raises:
            FileNotFoundError: no such preset. ValueError: the preset is a different
            kind of model, or its weights fail their sha256 check.
        """
        from kcolor.models import presets

        model = presets.load(name)
        if not isinstance(model, cls):
            raise ModelFileError(
                f"The preset {name!r} is a {type(model).__name__}, not a {cls.__name__}."
            )
        return model

    def colorizing_network(self) -> keras.Model:
        """The Keras model that computes the colours. A method, not a property: Keras'
        saving walks a model's attributes, and one that returns the model itself would
        never end."""
        return self

    @property
    def diverse(self) -> bool:
        """True when each noise draw gives a different colouring."""
        return self.noise_channels > 0

    def learning_rates(self) -> dict:
        """The optimizer's current learning rate, as the training logs name it:
        ``{"learning_rate": float}``."""
        return {"learning_rate": float(np.asarray(self.optimizer.learning_rate))}

    def predict_ab(self, l_norm, noise=None, training=False):
        """``ab_norm`` (B, H, W, 2) for ``l_norm`` (B, H, W, 1); ``noise`` float32
        (B, noise_channels) in [-1, 1], one vector per image (None without noise)."""
        raise NotImplementedError

    def seeded_ab(self, l_norm, seeds):
        """``ab_norm`` (B, H, W, 2), image ``i`` coloured with the noise of ``seeds[i]``
        (int (B,); ignored by a model without noise)."""
        noise = noise_of_seeds(seeds, self.noise_channels) if self.diverse else None
        return self.predict_ab(l_norm, noise, training=False)

    def sample_ab(self, l_norm, samples, seed):
        """``samples`` colourings of each image: float32 (B, samples, H, W, 2), colouring
        ``k`` drawn from ``seed + k`` (see :func:`sample_seeds`). A model without noise
        gives one colouring: ``samples`` must then be 1."""
        l_norm = tf.convert_to_tensor(l_norm, tf.float32)
        shape = tf.shape(l_norm)
        if not self.diverse:
            return tf.cast(self.predict_ab(l_norm), tf.float32)[:, None]
        repeated = tf.repeat(l_norm, samples, axis=0)
        ab_norm = self.seeded_ab(repeated, sample_seeds(shape[0], samples, seed))
        return tf.reshape(ab_norm, [shape[0], samples, shape[1], shape[2], 2])


def noise_planes(noise, like):
    """Noise vectors (B, C) spread over the image plane of ``like`` (B, H, W, ...):
    float32 (B, H, W, C), the generator's noise input."""
    shape = tf.shape(like)
    return tf.broadcast_to(
        tf.cast(noise, tf.float32)[:, None, None, :],
        (shape[0], shape[1], shape[2], noise.shape[-1]),
    )
