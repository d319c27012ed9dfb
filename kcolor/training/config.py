"""Run settings for ``kcolor train``: one small object, loaded from YAML or JSON.

Architecture lives in each model's ``get_config``; everything about *how* a run trains
(data, sizes, schedule, optimiser, precision, strategy) lives here, so a run directory's
``config.yaml`` is enough to repeat the run.
"""

import dataclasses
import glob
import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from kcolor.errors import ConfigError
from kcolor.models import registry

SCHEDULES = ("constant", "cosine", "exponential")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
PRECISIONS = ("float32", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi-worker")


@dataclasses.dataclass
class RunConfig:
    """Everything that decides how a training run goes.

    Attributes:
        model: a model kind registered in :mod:`kcolor.models.registry`: kcolor ships
            ``"hypercolumn"`` (Larsson et al.) and ``"gan"`` (Cao et al.). Its kind gives
            the defaults of the settings left at None below.
        data: training image sources (folders, globs, files, TFRecord shards). An item
            may also be a mapping ``{path: SOURCE(S), weight: W, name: NAME}``: the items
            are then mixed streams, each drawn with probability proportional to its
            weight (1 when not given; see :func:`kcolor.data.lab_dataset`).
        val: validation sources; the preview images and validation scalars come from here
            (from ``data`` when empty).
        image_size: square training crop side in pixels (``None``: the model's default).
        batch_size: global batch (split across replicas under a strategy).
        epochs: epochs to train; one epoch is ``steps_per_epoch`` batches.
        steps_per_epoch: batches per epoch (the training data repeats as needed).
        val_steps: validation batches per epoch (0: no validation pass).
        optimizer: ``adam``, ``adamw``, ``sgd`` (momentum 0.9) or ``rmsprop``.
        learning_rate: peak learning rate (the generator's, for the GAN).
        schedule: ``constant``, ``cosine`` (to 0 at the last step) or ``exponential``
            (``decay_rate`` per epoch).
        warmup_steps: linear warm-up before the schedule (cosine only).
        decay_rate: per-epoch factor of the exponential schedule.
        weight_decay: decoupled weight decay (``adamw``) or L2 decay (others); 0: none.
        init_from: start from these weights instead of fresh ones (fine-tuning): a
            bundled model's name (``hypercolumn``, ``gan``), a ``.keras`` file or a
            ``.weights.h5`` file. The optimizer starts fresh. A bundled model or a
            ``.keras`` file also gives the architecture, with ``model_args`` applied on
            top; a bundled GAN holds only its generator, so the critic starts fresh.
        ema_momentum: keep an exponential moving average of the weights with this
            momentum (e.g. 0.999) and finish the run with the averaged weights; ``None``:
            no averaging. Averaging smooths out the step-to-step noise of the last epochs.
        model_args: keyword arguments for the model's constructor (the hypercolumn model,
            or ``{"generator": {...}, "critic": {...}}`` for the GAN).
        model_settings: the model kind's own run settings (its ``settings`` in the
            registry), e.g. for the GAN ``critic_steps``, ``clip_value``,
            ``gradient_penalty``, ``l1_weight``, ``l1_best_of``, ``gan_loss``,
            ``critic_learning_rate`` and ``guide`` (a colorizer guiding the generator: a
            bundled model's name or a ``.keras`` file); for the hypercolumn model
            ``calibrate`` (rescale the taps on the first batch of a fresh run) and
            ``prior_batches`` (batches the rebalancing prior is counted on). A config file
            may also give them at the top level, as earlier versions wrote them.
        seed: seeds weights, data order, augmentation and noise.
        mixed_precision: ``float32`` or ``mixed_bfloat16``.
        strategy: ``default`` (one device), ``mirrored`` (all local devices) or
            ``multi-worker`` (several machines, from ``TF_CONFIG``).
        preview_images: validation images in the TensorBoard image grid.
        preview_samples: GAN noise samples shown per preview image.
        checkpoint_every: keep the weights every this many epochs under ``checkpoints/``.
    """

    model: str = registry.DEFAULT_KIND
    data: list = dataclasses.field(default_factory=list)
    val: list = dataclasses.field(default_factory=list)
    image_size: int | None = None
    batch_size: int | None = None
    epochs: int = 20
    steps_per_epoch: int = 200
    val_steps: int = 8
    optimizer: str | None = None
    learning_rate: float | None = None
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_rate: float = 0.9
    weight_decay: float = 0.0
    init_from: str | None = None
    ema_momentum: float | None = None
    model_args: dict = dataclasses.field(default_factory=dict)
    model_settings: dict = dataclasses.field(default_factory=dict)
    seed: int = 0
    mixed_precision: str = "float32"
    strategy: str = "default"
    preview_images: int = 4
    preview_samples: int = 3
    checkpoint_every: int = 5

    def resolved(self) -> "RunConfig":
        """A copy with the model kind's defaults filled in, checked; raises ConfigError."""
        kind = registry.get(self.model)
        values = dataclasses.asdict(self)
        for key, value in kind.run_defaults.items():
            if values[key] is None:
                values[key] = value
        if not isinstance(values["model_settings"], dict):
            raise ConfigError(
                f"model_settings must be a mapping. Received: {values['model_settings']!r}"
            )
        values["model_settings"] = kind.resolve_settings(values["model_settings"])
        values["data"] = _as_sources(values["data"])
        values["val"] = _as_list(values["val"])
        for name, number_type in _NUMBERS.items():
            values[name] = registry.as_number(name, values[name], number_type)
        config = RunConfig(**values)
        config._check()
        return config

    def _check(self) -> None:
        if not self.data:
            raise ConfigError("No training data: give --data (folders, globs or TFRecord shards).")
        for name, allowed in (
            ("schedule", SCHEDULES),
            ("optimizer", OPTIMIZERS),
            ("mixed_precision", PRECISIONS),
            ("strategy", STRATEGIES),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {allowed}. Received: {getattr(self, name)!r}"
                )
        for name in (
            "image_size",
            "batch_size",
            "epochs",
            "steps_per_epoch",
            "checkpoint_every",
            "preview_samples",
        ):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1. Received: {getattr(self, name)}")
        for name in ("val_steps", "warmup_steps", "preview_images"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be 0 or more. Received: {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive. Received: {self.learning_rate}")
        if self.ema_momentum is not None and not 0 < self.ema_momentum < 1:
            raise ConfigError(f"ema_momentum must be in (0, 1). Received: {self.ema_momentum}")
        if not isinstance(self.model_args, dict):
            raise ConfigError(f"model_args must be a mapping. Received: {self.model_args!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path) -> None:
        """Write the settings as YAML (the run directory's ``config.yaml``)."""
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


_INTEGERS = (
    "image_size batch_size epochs steps_per_epoch val_steps warmup_steps seed "
    "preview_images preview_samples checkpoint_every"
)
_FLOATS = "learning_rate decay_rate weight_decay ema_momentum"
_NUMBERS = {name: int for name in _INTEGERS.split()} | {name: float for name in _FLOATS.split()}


def _as_sources(value) -> list:
    """``data`` as a list of source strings and ``{path, weight, name}`` mappings."""
    items = []
    for item in [value] if isinstance(value, str | dict) else value or []:
        if not isinstance(item, dict):
            items.append(str(item))
            continue
        unknown = sorted(set(item) - {"path", "weight", "name"})
        if unknown or "path" not in item:
            raise ConfigError(
                f"a data item that is a mapping takes path (required), weight and name. "
                f"Received: {item!r}"
            )
        path = _as_list(item["path"])
        entry = {"path": path[0] if len(path) == 1 else path}
        entry["weight"] = registry.as_number("weight", item.get("weight", 1.0), float)
        if entry["weight"] < 0:
            raise ConfigError(f"a data weight must be 0 or more. Received: {item!r}")
        if item.get("name") is not None:
            entry["name"] = str(item["name"])
        items.append(entry)
    return items


def data_streams(data: list):
    """Split resolved ``data`` into what :func:`kcolor.data.lab_dataset` takes:
    ``(sources, None)`` when no item has a weight, else ``(streams, weights)``."""
    if not any(isinstance(item, dict) for item in data):
        return list(data), None
    streams = [item["path"] if isinstance(item, dict) else item for item in data]
    weights = [item["weight"] if isinstance(item, dict) else 1.0 for item in data]
    return streams, weights


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def load_config(*paths) -> RunConfig:
    """Read one or more YAML or JSON run configs (JSON is YAML, so one parser reads both);
    a later file's settings replace an earlier file's (``model_settings`` one by one).
    Relative paths in ``data``, ``val``
    and ``init_from`` that exist beside a config file are taken from beside it, so a data
    config written next to its shards works from any folder.

    Raises:
        FileNotFoundError: a file does not exist.
        ValueError: a file is not a mapping or names unknown settings.
    """
    values = {}
    for path in paths:
        settings = _read_settings(Path(path))
        # A model kind's settings merge one by one, as top-level settings do.
        nested = {**(values.get("model_settings") or {}), **(settings.get("model_settings") or {})}
        values.update(settings)
        if nested:
            values["model_settings"] = nested
    return from_dict(values, source=", ".join(str(path) for path in paths))


def _read_settings(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML or JSON ({error})") from error
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, found {type(values).__name__}")
    for key in ("data", "val", "init_from"):
        if values.get(key) is not None:
            values[key] = _relative_to(path.parent, values[key])
    return values


def _relative_to(folder: Path, value):
    """A relative path that exists beside the config file, taken from there; anything
    else (absolute paths, paths relative to the working folder, bundled names) as is."""
    if isinstance(value, list):
        return [_relative_to(folder, item) for item in value]
    if isinstance(value, dict):
        return {**value, "path": _relative_to(folder, value["path"])} if "path" in value else value
    text = str(value)
    candidate = folder / text
    if os.path.isabs(text) or not (candidate.exists() or glob.glob(str(candidate))):
        return text
    return str(candidate)


def from_dict(values: dict, source: str = "config") -> RunConfig:
    """A :class:`RunConfig` of ``values``; a model kind's setting given at the top level
    (as earlier versions wrote them) is moved under ``model_settings``."""
    values = _nest_model_settings(values, source)
    known = {field.name for field in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {unknown}; known: {sorted(known)}")
    return RunConfig(**values)


def _nest_model_settings(values: dict, source: str) -> dict:
    """``values`` with top-level model-kind settings moved under ``model_settings``.

    Earlier versions kept every kind's settings at the top level and wrote them all into
    each run's ``config.yaml``, unused ones as their defaults or as null: a setting of
    another kind is dropped when it holds that kind's default or null, and refused
    otherwise.
    """
    known = {field.name for field in dataclasses.fields(RunConfig)}
    model = values.get("model", RunConfig.model)
    nested = dict(values.get("model_settings") or {})
    kept = {}
    for key, value in values.items():
        owners = [] if key in known else registry.kinds_with_setting(key)
        if not owners:
            kept[key] = value
        elif any(kind.name == model for kind in owners):
            nested[key] = value
        elif value is not None and any(value != kind.settings[key].default for kind in owners):
            names = " and ".join(kind.name for kind in owners)
            raise ConfigError(
                f"{source}: {key} is a setting of the {names} model, not of {model}. "
                f"Received: {key}={value!r}"
            )
    if nested or "model_settings" in values:
        kept["model_settings"] = nested
    return kept


def with_overrides(config: RunConfig, overrides: Iterable[str]) -> RunConfig:
    """Apply ``key=value`` overrides; values are parsed as YAML (``1e-4``, ``[a, b]``,
    ``null``); ``model_args.NAME=value`` sets one constructor argument and
    ``model_settings.NAME=value`` one setting of the model kind (``NAME=value`` does too)."""
    values = config.to_dict()
    for override in overrides:
        key, sep, text = override.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"override {override!r} is not KEY=VALUE")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"override {override!r}: cannot parse the value ({error})") from error
        nest, _, rest = key.partition(".")
        if rest and nest in ("model_args", "model_settings"):
            target = values[nest]
            *parents, leaf = rest.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        else:
            values[key] = value
    return from_dict(values, source="overrides")


def differences(saved: RunConfig, current: RunConfig) -> list[str]:
    """Names of the settings that differ between two configs (for safe resuming)."""
    old, new = saved.to_dict(), current.to_dict()
    return [key for key in old if old[key] != new[key]]
