"""Train a colorization model into a run directory: the engine behind ``kcolor train``.

A run directory holds everything a run makes::

    RUN/config.yaml           the resolved settings (repeat or resume the run from it)
    RUN/logs/                 TensorBoard: train/ and validation/ runs
    RUN/history.csv           one row of logs per epoch
    RUN/backup/worker_<i>/    last epoch's full state (weights, optimizer, epoch): resume
    RUN/checkpoints/          epoch_<NNN>.weights.h5 every ``checkpoint_every`` epochs
    RUN/model.keras           the final model (architecture, weights, compile settings)
    RUN/model.weights.h5      the final weights alone

Starting the same command again after an interruption resumes from the last finished
epoch; starting it after the run finished does nothing unless ``epochs`` was raised.
"""

import contextlib
import dataclasses
import json
import os
import tempfile
from pathlib import Path

import h5py
import keras
import tensorflow as tf

from kcolor import data
from kcolor.errors import ConfigError, TrainingDiverged
from kcolor.models import registry
from kcolor.training import callbacks as kcolor_callbacks
from kcolor.training import config as run_config

# The one setting that may change when a run resumes: more epochs extend it. Anything
# else would change what the saved epochs mean, or the columns of history.csv (the
# CSV logger appends rows under the first run's header).
_RESUMABLE_CHANGES = {"epochs"}


@dataclasses.dataclass
class Worker:
    """Which process of a (possibly multi-worker) run this is."""

    index: int = 0
    count: int = 1
    is_chief: bool = True


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        initial_epoch: epochs already trained when this call started (resumed runs).
        epochs: the run's total epochs.
        history: ``History.history`` of the epochs trained in this call.
        model_path: the saved final model (None on non-chief workers).
        model: the trained model (None when the run had already finished).
    """

    initial_epoch: int
    epochs: int
    history: dict
    model_path: Path | None
    model: keras.Model | None = None


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local GPUs/CPU) or ``multi-worker``.

    Must run before any other TensorFlow op in the process when ``multi-worker``: the
    collective ops are configured at start-up. Workers come from ``TF_CONFIG``.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("strategy multi-worker needs TF_CONFIG (the cluster and this task)")
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING
        )
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise ConfigError(f"strategy must be one of {run_config.STRATEGIES}. Received: {name!r}")


def worker_of(strategy: tf.distribute.Strategy) -> Worker:
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return Worker()
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict()
    count = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    is_chief = resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster
    )
    index = resolver.task_id + (1 if resolver.task_type == "worker" and "chief" in cluster else 0)
    return Worker(index=index, count=count, is_chief=is_chief)


def build_model(config: run_config.RunConfig) -> keras.Model:
    """The model ``config`` describes, compiled with its optimiser(s) and schedule, as
    its model kind (:mod:`kcolor.models.registry`) builds it.

    With ``config.init_from`` the architecture comes from that model (``model_args`` on
    top) and so do the weights; the optimizer is fresh either way.
    """
    total_steps = config.epochs * config.steps_per_epoch
    request = registry.BuildRequest(
        kind=config.model,
        model_args=config.model_args,
        settings=config.model_settings,
        seed=config.seed,
        image_size=config.image_size,
        learning_rate=config.learning_rate,
        source=_init_source(config),
        source_name=config.init_from,
        optimizer=lambda rate, updates_per_step: _optimizer(
            config, rate, total_steps * updates_per_step
        ),
    )
    return registry.get(config.model).build(request)


# Keras' ModelCheckpoint fills in the epoch (from 1) when it writes one.
_CHECKPOINT_NAME = "epoch_{epoch:03d}.weights.h5"


def checkpoint_path(run_dir, epoch: int) -> Path:
    """Where a run keeps the weights of epoch ``epoch`` (counted from 1)."""
    return Path(run_dir) / "checkpoints" / _CHECKPOINT_NAME.format(epoch=epoch)


def model_from_checkpoint(run_dir, epoch: int) -> keras.Model:
    """The run's model with the weights of its epoch-``epoch`` checkpoint: for choosing an
    epoch on held-out photos when a later one is not better (GAN training oscillates).

    Raises:
        FileNotFoundError: the run kept no checkpoint of that epoch.
    """
    path = checkpoint_path(run_dir, epoch)
    if not path.is_file():
        kept = sorted(p.name for p in (Path(run_dir) / "checkpoints").glob("epoch_*.weights.h5"))
        raise FileNotFoundError(f"{path}: no checkpoint of epoch {epoch}; the run kept {kept}")
    model = build_model(run_config.load_config(Path(run_dir) / "config.yaml").resolved())
    model.load_weights(path)
    return model


def _init_source(config: run_config.RunConfig):
    """The model ``init_from`` names (None without one, the path for a weights file)."""
    if config.init_from is None:
        return None
    if str(config.init_from).endswith(".weights.h5"):
        if not os.path.isfile(config.init_from):
            raise FileNotFoundError(f"init_from: weights file {config.init_from!r} does not exist")
        return config.init_from
    from kcolor import inference

    return inference.load_model(config.init_from)


def _optimizer(config: run_config.RunConfig, rate: float, total_steps: int):
    schedule = rate
    if config.schedule == "cosine":
        warmup = min(config.warmup_steps, total_steps - 1)
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else rate,
            decay_steps=max(total_steps - warmup, 1),
            warmup_target=rate if warmup else None,
            warmup_steps=warmup,
        )
    elif config.schedule == "exponential":
        updates_per_epoch = total_steps // config.epochs
        schedule = keras.optimizers.schedules.ExponentialDecay(
            rate, decay_steps=updates_per_epoch, decay_rate=config.decay_rate
        )
    decay = config.weight_decay or None
    averaging = {}
    if config.ema_momentum is not None:
        # Keras swaps the averaged weights in when fit ends (finalize_variable_values).
        averaging = {"use_ema": True, "ema_momentum": config.ema_momentum}
    if config.optimizer == "adam":
        return keras.optimizers.Adam(schedule, weight_decay=decay, **averaging)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay, **averaging)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=decay, **averaging)
    # RMSprop with rho 0.9, as Cao et al.'s reference code.
    return keras.optimizers.RMSprop(schedule, rho=0.9, weight_decay=decay, **averaging)


def _backed_up_epoch(backup_dir: Path) -> int:
    """Epochs finished according to BackupAndRestore's metadata (0 if none)."""
    metadata = backup_dir / "training_metadata.json"
    if not metadata.is_file():
        return 0
    try:
        return int(json.loads(metadata.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise kcolor_callbacks.corrupt_backup(metadata, backup_dir, error) from error


def _check_backup_weights(backup_dir: Path) -> None:
    """Raise a clear error now if the backed-up weights are not readable (checked before
    training starts, so no log file is left open by a failed start)."""
    weights = backup_dir / "latest.weights.h5"
    try:
        with h5py.File(weights, "r"):
            pass
    except OSError as error:
        raise kcolor_callbacks.corrupt_backup(weights, backup_dir, error) from error


def _saved_after_backup(model_path: Path, backup_dir: Path) -> bool:
    """Whether the final model holds the backed-up state (a run extended with more epochs
    and stopped early has a final model older than its backup)."""
    metadata = backup_dir / "training_metadata.json"
    if not model_path.is_file():
        return False
    return not metadata.is_file() or model_path.stat().st_mtime >= metadata.stat().st_mtime


def _prepare_run_dir(
    run_dir: Path, config: run_config.RunConfig, worker: Worker, trained: bool
) -> None:
    saved_path = run_dir / "config.yaml"
    # Settings can change freely until an epoch has been saved under them.
    if trained and saved_path.is_file():
        saved = run_config.load_config(saved_path).resolved()
        changed = [
            key for key in run_config.differences(saved, config) if key not in _RESUMABLE_CHANGES
        ]
        if changed:
            raise ConfigError(
                f"{run_dir} holds a run with different settings ({', '.join(changed)}); "
                "resume it with the same settings or train into a new --run-dir"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    if worker.is_chief:
        config.save(saved_path)


def _datasets(config: run_config.RunConfig, resumed_epoch: int):
    # A resumed run draws a new data order: repeating the first epochs' order is worse.
    streams, weights = run_config.data_streams(config.data)
    train = data.lab_dataset(
        streams,
        config.image_size,
        config.batch_size,
        training=True,
        seed=config.seed + resumed_epoch,
        weights=weights,
    ).repeat()
    validation = preview = None
    if config.val:
        # One evaluation pipeline gives both: building a pipeline traces its graphs, which
        # takes seconds.
        evaluation = data.lab_dataset(
            config.val, config.image_size, config.batch_size, training=False
        )
        if config.val_steps:
            # The same batches every epoch, decoded once.
            validation = evaluation.take(config.val_steps).cache().repeat()
        if config.preview_images:
            preview = next(iter(evaluation.unbatch().batch(config.preview_images)))
    elif config.preview_images:
        training_sources = [
            source
            for stream in streams
            for source in ([stream] if isinstance(stream, str) else stream)
        ]
        preview_batches = data.lab_dataset(
            training_sources, config.image_size, config.preview_images, training=False
        )
        preview = next(iter(preview_batches))
    options = tf.data.Options()
    # Every worker reads all the files and keeps its share of the batches.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = train.with_options(options)
    if validation is not None:
        validation = validation.with_options(options)
    return train, validation, preview


def _callbacks(config, run_dir: Path, worker: Worker, preview, scratch: Path):
    # Only the chief writes the run's logs; other workers write theirs to scratch space.
    out_dir = run_dir if worker.is_chief else scratch
    log_dir = out_dir / "logs"
    chosen = []
    if preview is not None and worker.is_chief:
        chosen.append(
            kcolor_callbacks.ColorizationPreview(
                *preview, log_dir, samples=config.preview_samples, seed=config.seed
            )
        )
    chosen += [
        kcolor_callbacks.TrainingSpeed(config.batch_size),
        kcolor_callbacks.TerminateOnNonFiniteLoss(),
        keras.callbacks.TensorBoard(log_dir=str(log_dir), update_freq="epoch"),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=True),
        keras.callbacks.ModelCheckpoint(
            str(out_dir / "checkpoints" / _CHECKPOINT_NAME),
            save_weights_only=True,
            save_freq=config.checkpoint_every * config.steps_per_epoch,
        ),
        # One folder per worker: a shared one races (README, Scaling out).
        kcolor_callbacks.FiniteBackupAndRestore(
            str(run_dir / "backup" / f"worker_{worker.index}"), delete_checkpoint=False
        ),
    ]
    return chosen


def _save_final(model: keras.Model, out_dir: Path) -> None:
    # Written beside the target and renamed, so a crash never leaves half a model file.
    for name, save in (("model.keras", model.save), ("model.weights.h5", model.save_weights)):
        partial = out_dir / f"partial-{name}"
        save(partial)
        os.replace(partial, out_dir / name)


@dataclasses.dataclass
class _RunStart:
    """Where a run starts: its worker's backup folder and the epochs already trained."""

    backup_dir: Path
    resumed_epoch: int
    model_path: Path
    finished: bool


def _start_run(run_dir: Path, config: run_config.RunConfig, worker: Worker) -> _RunStart:
    """Clean up after a killed run, read how far the run got, check the run directory's
    settings against ``config`` and write them."""
    backup_dir = run_dir / "backup" / f"worker_{worker.index}"
    kcolor_callbacks.remove_partial_backups(backup_dir)
    resumed_epoch = _backed_up_epoch(backup_dir)
    if resumed_epoch:
        _check_backup_weights(backup_dir)
    model_path = run_dir / "model.keras"
    _prepare_run_dir(run_dir, config, worker, trained=resumed_epoch > 0 or model_path.is_file())
    finished = resumed_epoch >= config.epochs and _saved_after_backup(model_path, backup_dir)
    return _RunStart(backup_dir, resumed_epoch, model_path, finished)


@contextlib.contextmanager
def _run_environment(config: run_config.RunConfig, worker: Worker, resumed_epoch: int):
    """Seeds, the run's precision policy (the previous one put back afterwards) and, with
    several workers, their fixes; yields a scratch folder for this worker."""
    keras.utils.set_random_seed(config.seed + resumed_epoch)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.mixed_precision)
    fixes = contextlib.nullcontext()
    if worker.count > 1:
        from kcolor.training.multi_worker import multi_worker_fixes

        fixes = multi_worker_fixes()
    try:
        with tempfile.TemporaryDirectory(prefix="kcolor-worker-") as scratch, fixes:
            yield Path(scratch)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _check_finite(history, chosen, start: _RunStart) -> None:
    """Raise :class:`TrainingDiverged` if a loss became NaN or infinite."""
    guard = next(c for c in chosen if isinstance(c, kcolor_callbacks.TerminateOnNonFiniteLoss))
    if not guard.diverged:
        return
    kept = (
        f"The last good state is kept in {start.backup_dir}"
        if _backed_up_epoch(start.backup_dir)
        else "No epoch finished before it, so there is no state to keep"
    )
    raise TrainingDiverged(
        f"{', '.join(guard.diverged)} became NaN or infinite in epoch "
        f"{len(history.history.get(guard.diverged[0], [])) + start.resumed_epoch}; "
        f"no final model was saved. {kept}: lower the learning rate and train "
        "into a new run directory."
    )


def train(config: run_config.RunConfig, run_dir, strategy=None, *, verbose="auto") -> TrainResult:
    """Train the model ``config`` describes into ``run_dir`` (resuming if it has a backup).

    Args:
        config: the run settings (defaults are filled in and checked here).
        run_dir: the run directory (created if missing).
        strategy: a ``tf.distribute.Strategy`` (default: made from ``config.strategy``).
            Under ``multi-worker`` create it with :func:`make_strategy` before any other
            TensorFlow work in the process.
        verbose: passed to ``fit``.

    Raises:
        ValueError: bad settings, unusable data, or a run directory made with different
            settings.
    """
    config = config.resolved()
    run_dir = Path(run_dir)
    strategy = strategy or make_strategy(config.strategy)
    worker = worker_of(strategy)
    start = _start_run(run_dir, config, worker)
    if start.finished:
        return TrainResult(start.resumed_epoch, config.epochs, {}, start.model_path)
    with _run_environment(config, worker, start.resumed_epoch) as scratch:
        train_data, validation, preview = _datasets(config, start.resumed_epoch)
        with strategy.scope():
            model = build_model(config)
        kind = registry.get(config.model)
        if kind.prepare is not None:
            fresh = config.init_from is None and not start.resumed_epoch
            kind.prepare(model, train_data, config.model_settings, fresh)
        chosen = _callbacks(config, run_dir, worker, preview, scratch)
        history = model.fit(
            train_data,
            epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            validation_data=validation,
            validation_steps=config.val_steps if validation is not None else None,
            # The pipeline shuffles (seeded); Keras cannot shuffle a dataset anyway.
            shuffle=False,
            callbacks=chosen,
            verbose=verbose,
        )
        _check_finite(history, chosen, start)
        # Every worker must take part in saving; only the chief's copy is kept.
        _save_final(model, run_dir if worker.is_chief else scratch)
    model_path = start.model_path if worker.is_chief else None
    return TrainResult(start.resumed_epoch, config.epochs, history.history, model_path, model)
