"""What every colorizer offers, and the one rule for samples and seeds.

A colorizer is a model ready to colorize at a processing size: the Keras one
(:class:`kcolor.inference.Colorizer`), the TFLite one (``kcolor.deploy.tflite.LiteColorizer``)
and the int8 one (``kcolor.deploy.int8.Int8Colorizer``). The command line, the Python API,
the web page and the video path use them only through :class:`BaseColorizer`.

The rule, the same everywhere (a served model too): a model without noise gives one
colouring per image, so ``samples`` must be 1; a model with noise gives colouring ``k``
(from 0) of each image from seed ``seed + k``, and ``seed=None`` picks a seed at random.
"""

import abc
import random

from kcolor.errors import ConfigError

# Seeds are used modulo 2^31 - 2 (kcolor.models.base.noise_of_seeds): random ones are
# drawn below it, so that every seed shown to a user repeats its colouring as written.
_SEED_RANGE = 2**31 - 2


def random_seed() -> int:
    """A seed for colourings nobody asked to repeat (``seed=None``)."""
    return random.randrange(_SEED_RANGE)


def check_samples(samples: int, diverse: bool) -> None:
    """Raise ConfigError unless ``samples`` colourings per image can be had from a model
    that is ``diverse`` (has noise) or not."""
    if samples < 1:
        raise ConfigError(f"samples must be at least 1. Received: samples={samples}")
    if samples > 1 and not diverse:
        raise ConfigError(
            f"samples above 1 needs a GAN model; this model gives one colouring per image. "
            f"Received: samples={samples}"
        )


def choose_seed(seed: int | None, diverse: bool) -> int | None:
    """The seed a run uses: ``seed``, a random one when it is None and the model is
    ``diverse``, and None for a model without noise (a seed changes nothing there)."""
    if not diverse:
        return None
    return random_seed() if seed is None else int(seed)


class BaseColorizer(abc.ABC):
    """A model ready to colorize photos at a processing size.

    Attributes:
        size: shorter side of the processing size, in pixels.
        multiple: processing sides are multiples of it.
        diverse: whether each seed gives a different colouring (a GAN).
        noise_channels: length of a colouring's noise vector (0 without noise).
        precision: "float32", "bfloat16", "int8", or "tflite" (a TFLite file's own).
    """

    size: int
    multiple: int
    diverse: bool
    noise_channels: int
    precision: str

    def check_samples(self, samples: int) -> None:
        """Raise ConfigError unless this colorizer can give ``samples`` colourings."""
        check_samples(samples, self.diverse)

    def choose_seed(self, seed: int | None) -> int | None:
        """The seed a run uses (see :func:`choose_seed`)."""
        return choose_seed(seed, self.diverse)

    @abc.abstractmethod
    def model_input(self, rgb):
        """uint8 RGB (H, W, 3), channel order R, G, B -> ``l_norm`` float32 (1, h, w, 1),
        ``L / 50 - 1`` at the processing size."""

    def predict_ab(self, l_norm, samples: int = 1, seed: int | None = None):
        """``ab_norm`` float32 (B, samples, h, w, 2), ``ab / 110``, channel order a, b,
        for ``l_norm`` (B, h, w, 1); colouring ``k`` from seed ``seed + k``.

        Raises:
            ConfigError: ``samples`` is not possible for this model.
        """
        self.check_samples(samples)
        seed = self.choose_seed(seed)
        return self._predict_ab(l_norm, samples, 0 if seed is None else seed)

    @abc.abstractmethod
    def _predict_ab(self, l_norm, samples: int, seed: int):
        """:meth:`predict_ab` after the samples are checked and the seed chosen."""
