"""The ``gan`` model kind (Cao et al. 2017) as ``kcolor train`` builds it."""

import os

import keras

from kcolor.errors import ConfigError
from kcolor.models import presets, registry
from kcolor.models.base import ColorizationModel
from kcolor.models.gan import (
    ColorCritic,
    DiverseColorGAN,
    DiverseColorGenerator,
    GuidedColorGenerator,
    gan_parts,
)

Setting = registry.Setting


def build(request: registry.BuildRequest) -> DiverseColorGAN:
    """A compiled GAN: generator and critic with the architecture of ``init_from`` (when
    it is a model) and ``model_args`` ``{"generator": {...}, "critic": {...}}`` on top;
    guided by ``settings.guide`` or by ``init_from``'s guide. A bundled GAN holds only its
    generator, so its critic starts fresh."""
    settings = request.settings
    arguments = dict(request.model_args)
    source_generator, source_critic, source_guide = _parts_of(request.source)
    guide = guide_model(settings["guide"]) if settings["guide"] is not None else source_guide
    generator_arguments = {
        **request.source_config(source_generator),
        **arguments.pop("generator", {}),
    }
    if guide is not None:
        generator_arguments["guided"] = True
    critic_arguments = {
        **request.source_config(source_critic),
        "image_size": request.image_size,
        **arguments.pop("critic", {}),
    }
    if arguments:
        raise ConfigError(f"GAN model_args takes 'generator' and 'critic'; got {sorted(arguments)}")
    if settings["gradient_penalty"] is not None:
        critic_arguments.setdefault("normalization", "layer")
    generator = DiverseColorGenerator.from_config(generator_arguments)
    critic = ColorCritic.from_config(critic_arguments)
    request.copy_weights(generator, source_generator)
    if guide is not None:
        generator = GuidedColorGenerator(generator, guide)
    model = DiverseColorGAN(generator, critic, seed=request.seed)
    request.copy_weights(critic, source_critic)
    model.compile(
        generator_optimizer=request.optimizer(request.learning_rate, 1),
        critic_optimizer=request.optimizer(
            settings["critic_learning_rate"], settings["critic_steps"]
        ),
        loss=settings["gan_loss"],
        critic_steps=settings["critic_steps"],
        clip_value=settings["clip_value"],
        gradient_penalty=settings["gradient_penalty"],
        l1_weight=settings["l1_weight"],
        l1_best_of=settings["l1_best_of"],
    )
    return model


def _parts_of(source):
    """``(generator, critic, guide)`` of a source model; a weights path or None is the
    generator's source alone."""
    if source is None or isinstance(source, str):
        return source, None, None
    return gan_parts(source)


def guide_model(name: str) -> keras.Model:
    """A fresh copy of the colorizer ``name`` (a bundled name or a ``.keras`` file) to
    guide a GAN: fresh, as training freezes it (the process's model cache keeps its own).

    Raises:
        FileNotFoundError: ``name`` is neither a bundled model nor a file.
        ConfigError: the model gives more than one colouring per image.
    """
    if name in presets.available():
        guide = presets.load(name)
    elif os.path.isfile(name):
        guide = keras.saving.load_model(name, compile=False)
    else:
        raise FileNotFoundError(
            f"guide: {name!r} is neither a bundled model ({presets.available()}) nor a file"
        )
    if not isinstance(guide, ColorizationModel) or guide.diverse:
        raise ConfigError(
            f"guide: {name!r} is a {type(guide).__name__}, not a model that gives one "
            "colouring per image (such as the hypercolumn model)"
        )
    return guide


KIND = registry.register(
    registry.ModelKind(
        name="gan",
        description="Cao et al. 2017: diverse colourings from a stride-1 conditional GAN",
        # The critic is built for 64x64 crops (Cao et al.); RMSprop as their code.
        run_defaults={
            "image_size": 64,
            "batch_size": 32,
            "optimizer": "rmsprop",
            "learning_rate": 1e-4,
        },
        settings={
            "critic_learning_rate": Setting(2e-4, float, doc="the critic's learning rate"),
            "critic_steps": Setting(5, int, at_least=1, doc="critic updates per generator update"),
            "clip_value": Setting(
                0.01, float, allow_none=True, doc="critic weight clipping (None: off)"
            ),
            "gradient_penalty": Setting(None, float, doc="WGAN-GP weight (None: off)"),
            "l1_weight": Setting(0.0, float, at_least=0, doc="weight of an L1 term"),
            "l1_best_of": Setting(1, int, at_least=1, doc="L1 on the best of N draws"),
            "gan_loss": Setting(
                "wasserstein", str, choices=("wasserstein", "cross_entropy"), doc="the loss"
            ),
            "guide": Setting(
                None,
                str,
                doc="guide the generator with this colorizer (a bundled name or a .keras file)",
            ),
        },
        build=build,
    )
)
