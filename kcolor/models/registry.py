"""The model kinds ``kcolor train`` knows, registered in one place.

A kind says its name, its run defaults (crop size, batch, optimizer, learning rate), its
own run settings (nested under ``model_settings`` in a run config) and how it builds a
compiled model for a run: from scratch, or from the model ``init_from`` names. Training,
config validation and the command line ask this registry; nothing outside
``kcolor.models`` asks which kind a model is.

A new kind is a module in ``kcolor.models`` that calls :func:`register` (and a test); the
kinds kcolor ships register when ``kcolor.models`` is imported, which importing this
module does first. A kind in another
installed package is found through its entry point in the group ``kcolor.model_kinds``
(:func:`load_plugin_kinds`), so ``kcolor train``, ``kcolor colorize`` and the rest know it.
"""

import dataclasses
import importlib.metadata
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping

from kcolor.errors import ConfigError, ModelFileError


@dataclasses.dataclass(frozen=True)
class Setting:
    """One run setting of a model kind.

    Attributes:
        default: the value when a run config does not give one.
        type: ``int``, ``float``, ``str`` or ``bool``.
        allow_none: None is a value too (always so when the default is None).
        choices: the allowed values (strings), if limited.
        at_least: the smallest allowed number, if limited.
        doc: what it does, shown beside its name when a setting is unknown.
    """

    default: object
    type: type
    allow_none: bool = False
    choices: tuple = ()
    at_least: float | None = None
    doc: str = ""

    def check(self, name: str, value):
        """``value`` converted to this setting's type; raises ConfigError."""
        if value is None and (self.allow_none or self.default is None):
            return None
        if self.type is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} must be true or false. Received: {value!r}")
            return value
        if self.type in (int, float):
            value = as_number(name, value, self.type)
            if self.at_least is not None and value < self.at_least:
                raise ConfigError(f"{name} must be at least {self.at_least}. Received: {value}")
            return value
        value = str(value)
        if self.choices and value not in self.choices:
            raise ConfigError(f"{name} must be one of {self.choices}. Received: {value!r}")
        return value


# Counts (epochs, steps, sizes) above this are typing mistakes, not settings: an epoch
# count of 1e99 would make a schedule of 1e101 steps.
LARGEST_COUNT = 10**9


def as_number(name: str, value, kind):
    """``value`` as a finite ``kind`` (int or float); None stays None. Raises ConfigError
    naming the setting. YAML 1.1 reads "3e-4" (no dot) as a string, so run settings are
    converted here."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number. Received: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number. Received: {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number. Received: {value!r}")
    if kind is int and not number.is_integer():
        raise ConfigError(f"{name} must be a whole number. Received: {value!r}")
    if kind is int and abs(number) > LARGEST_COUNT:
        raise ConfigError(f"{name} must be at most {LARGEST_COUNT:,}. Received: {value!r}")
    return kind(number)


# "The request's own source" as a default argument, where None means "no source".
_THE_SOURCE = object()


@dataclasses.dataclass
class BuildRequest:
    """What a kind's builder gets from the training loop.

    Attributes:
        kind: the model kind's name.
        model_args: keyword arguments for the model's constructor(s), as the run gives them.
        settings: the kind's run settings, checked and with defaults filled in.
        seed: the run's seed (weights, noise).
        image_size: the run's square crop side in pixels.
        learning_rate: the run's peak learning rate.
        source: what ``init_from`` names, loaded: a model, a ``.weights.h5`` path, or None.
        source_name: ``init_from`` as the user wrote it (for messages).
        optimizer: ``optimizer(rate, updates_per_step)`` -> a fresh optimizer with the run's
            schedule, over ``updates_per_step`` updates per training step.
    """

    kind: str
    model_args: dict
    settings: dict
    seed: int
    image_size: int
    learning_rate: float
    source: object
    source_name: str | None
    optimizer: Callable

    def source_config(self, source=_THE_SOURCE) -> dict:
        """The constructor arguments of ``source`` (default: the request's source) when it
        is a model; {} for a weights file or None. The run's precision applies, not the
        source's, so its dtype policy is left out."""
        source = self.source if source is _THE_SOURCE else source
        if source is None or isinstance(source, str):
            return {}
        config = source.get_config()
        return {key: value for key, value in config.items() if key not in ("name", "dtype")}

    def copy_weights(self, model, source=_THE_SOURCE) -> None:
        """Copy the weights of ``source`` (default: the request's source; a model or a
        weights file) into ``model``; nothing when it is None.

        Raises:
            ModelFileError: the weights file cannot be read.
            ConfigError: the weights do not fit ``model``'s architecture.
        """
        import numpy as np

        source = self.source if source is _THE_SOURCE else source
        if source is None:
            return
        if not model.built:
            model(np.zeros((1, 32, 32, 1), "float32"))
        with tempfile.TemporaryDirectory(prefix="kcolor-init-") as folder:
            path = source
            if not isinstance(source, str):
                # Through a file: loading matches weights by layer path, not by list
                # order (which frozen layers would change).
                path = os.path.join(folder, "init.weights.h5")
                source.save_weights(path)
            try:
                model.load_weights(path)
            except OSError as error:
                raise ModelFileError(
                    f"init_from {self.source_name}: cannot read the weights file ({error})"
                ) from error
            except (ValueError, KeyError) as error:
                raise ConfigError(
                    f"init_from {self.source_name!r} does not fit this {self.kind} model's "
                    f"architecture (model_args {self.model_args}): {error}"
                ) from error


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """A kind of model ``kcolor train`` builds.

    Attributes:
        name: what ``kcolor train NAME`` and a run config's ``model`` say.
        description: one line, shown beside its name when a kind is unknown.
        run_defaults: defaults of the run's generic settings for this kind
            (``image_size``, ``batch_size``, ``optimizer``, ``learning_rate``).
        settings: the kind's own run settings by name.
        build: ``build(request: BuildRequest)`` -> a compiled Keras model.
        prepare: ``prepare(model, batches, settings, fresh)``, called once before ``fit``
            with the training batches (a repeating ``tf.data`` dataset of ``(l_norm,
            ab_norm)``); ``fresh`` is False when the run resumes or starts from
            ``init_from``. None: nothing to prepare.
    """

    name: str
    description: str
    run_defaults: Mapping
    settings: Mapping[str, Setting]
    build: Callable
    prepare: Callable | None = None

    def resolve_settings(self, given: Mapping) -> dict:
        """The kind's settings: ``given`` checked, defaults filled in; raises ConfigError."""
        unknown = sorted(set(given) - set(self.settings))
        if unknown:
            listed = "; ".join(f"{name} ({setting.doc})" for name, setting in self.settings.items())
            raise ConfigError(
                f"model_settings: {unknown} are not settings of the {self.name} model; "
                f"its settings are: {listed or 'none'}"
            )
        return {
            name: setting.check(name, given.get(name, setting.default))
            for name, setting in self.settings.items()
        }


_KINDS: dict[str, ModelKind] = {}

# The kind a run config trains when it names none: the paper model of Larsson et al.
DEFAULT_KIND = "hypercolumn"


def register(kind: ModelKind) -> ModelKind:
    """Add ``kind`` to the kinds ``kcolor train`` knows (replacing one of the same name,
    so that re-importing a module is harmless)."""
    _KINDS[kind.name] = kind
    return kind


def names() -> tuple[str, ...]:
    """The registered kinds' names, in registration order."""
    return tuple(_KINDS)


def get(name: str) -> ModelKind:
    """The kind called ``name``.

    Raises:
        ConfigError: no kind has that name (the message lists the known ones).
    """
    if name not in _KINDS:
        listed = "; ".join(f"{kind.name}: {kind.description}" for kind in _KINDS.values())
        raise ConfigError(f"model must be one of {names()}. Received: {name!r} ({listed})")
    return _KINDS[name]


def kinds_with_setting(name: str) -> list[ModelKind]:
    """The kinds that have a run setting called ``name``."""
    return [kind for kind in _KINDS.values() if name in kind.settings]


PLUGIN_GROUP = "kcolor.model_kinds"


def load_plugin_kinds() -> list[str]:
    """Import the modules installed packages name under the entry-point group
    ``kcolor.model_kinds`` (each registers its kinds, and its Keras classes, on import);
    returns the entry points loaded. One that fails to import is reported in a
    RuntimeWarning naming it, and the others still load."""
    loaded = []
    for entry in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        try:
            entry.load()
        except Exception as error:  # any error of another package's code: kcolor goes on
            warnings.warn(
                f"kcolor: the model kind plugin {entry.name!r} ({entry.value}) did not load: "
                f"{type(error).__name__}: {error}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        loaded.append(entry.name)
    return loaded
