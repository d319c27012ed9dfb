"""Keras callbacks for watching colorization runs in TensorBoard.

Both callbacks add their figures to the epoch ``logs``; put them before
``keras.callbacks.TensorBoard`` and ``CSVLogger`` in the callback list so those write them
too (``val_*`` names land in TensorBoard's validation run, the rest in its train run).
"""

import json
import os
import time

import h5py
import keras
import numpy as np
import tensorflow as tf

from kcolor import color, metrics, outputs
from kcolor.errors import ConfigError


class ColorizationPreview(keras.callbacks.Callback):
    """Each epoch, colorize a fixed validation batch: an image grid and quality scalars.

    The grid has one row per image: gray | prediction(s) | truth, as RGB in [0, 1]
    (a GAN shows ``samples`` noise draws side by side, with the same seeds every epoch so
    epochs compare). Adds to the epoch logs, computed on the same batch:
    ``val_psnr`` (dB, 8-bit RGB, first sample), ``val_colorfulness`` (Hasler and
    Suesstrunk, mean over samples; the photos' own value is logged once as
    ``val_colorfulness_truth``) and, for a GAN, ``val_diversity`` (mean pairwise ab
    distance between samples of the same image, Lab units).

    Args:
        l_norm: float32 (B, H, W, 1), ``L / 50 - 1``.
        ab_norm: float32 (B, H, W, 2), channel order a, b, ``ab / 110``.
        log_dir: TensorBoard log folder; images go to its ``validation`` run.
        samples: noise samples per image for a GAN (ignored for single-answer models).
        seed: seed of the GAN's preview noise.
    """

    def __init__(self, l_norm, ab_norm, log_dir, samples=3, seed=0):
        super().__init__()
        self.l_norm = np.asarray(l_norm, "float32")
        self.ab_norm = np.asarray(ab_norm, "float32")
        self.log_dir = str(log_dir)
        self.samples = int(samples)
        self.seed = int(seed)
        self._writer = None

    def _predict(self):
        """ab_norm of each sample: float32 (B, S, H, W, 2)."""
        samples = self.samples if self.model.diverse else 1
        ab_norm = self.model.sample_ab(self.l_norm, samples, self.seed)
        # Mixed-precision models answer in bfloat16.
        return tf.cast(ab_norm, tf.float32).numpy()

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(f"{self.log_dir}/validation")

    def on_epoch_end(self, epoch, logs=None):
        predicted = self._predict()
        batch, samples = predicted.shape[:2]
        l_norm = np.repeat(self.l_norm[:, None], samples, axis=1)
        rgb = color.model_lab_to_rgb(l_norm, predicted).numpy()
        truth = color.model_lab_to_rgb(self.l_norm, self.ab_norm).numpy()
        gray = color.model_lab_to_rgb(self.l_norm, np.zeros_like(self.ab_norm)).numpy()
        flat_shape = (batch * samples, *rgb.shape[2:])
        scores = {
            "val_psnr": float(np.mean(metrics.psnr(rgb[:, 0], truth))),
            "val_colorfulness": float(np.mean(metrics.colorfulness(rgb.reshape(flat_shape)))),
            "val_colorfulness_truth": float(np.mean(metrics.colorfulness(truth))),
        }
        if samples > 1:
            scores["val_diversity"] = float(np.mean(metrics.sample_diversity(predicted)))
        if logs is not None:
            logs.update(scores)
        rows = [np.concatenate([gray[i], *rgb[i], truth[i]], axis=1) for i in range(batch)]
        grid = np.concatenate(rows, axis=0)
        with self._writer.as_default():
            tf.summary.image("preview: gray | prediction | truth", grid[None], step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TrainingSpeed(keras.callbacks.Callback):
    """Adds ``steps_per_second``, ``images_per_second``, ``epoch_seconds`` and the learning
    rate(s) to the epoch logs; a GAN logs ``generator_learning_rate`` and
    ``critic_learning_rate``.

    Speeds are measured from the first batch's end of each epoch, so one-off tracing and
    the first batch's data loading do not count; ``epoch_seconds`` is the whole epoch's
    wall time, validation and the callbacks before this one included.

    Args:
        batch_size: global images per step.
    """

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = int(batch_size)
        self._start = None
        self._steps = 0
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._steps = None, 0
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._start is None:
            self._start = time.perf_counter()
        else:
            self._steps += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["epoch_seconds"] = time.perf_counter() - self._epoch_start
        if self._start is not None and self._steps:
            rate = self._steps / (time.perf_counter() - self._start)
            logs["steps_per_second"] = rate
            logs["images_per_second"] = rate * self.batch_size
        logs.update(self.model.learning_rates())


def _non_finite_losses(logs) -> list[str]:
    return [
        name
        for name, value in (logs or {}).items()
        if name.endswith("loss") and not np.isfinite(float(np.asarray(value)))
    ]


class TerminateOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    Like ``keras.callbacks.TerminateOnNaN``, but watches every ``*loss`` entry, so it
    also guards the GAN (``critic_loss``, ``generator_loss``; it has no ``loss``).
    ``diverged`` names the losses that went bad (empty while training is healthy).
    """

    def __init__(self):
        super().__init__()
        self.diverged = []

    def on_train_batch_end(self, batch, logs=None):
        bad = _non_finite_losses(logs)
        if bad:
            self.diverged = bad
            self.model.stop_training = True


class CorruptBackup(ConfigError):
    """A run's backup cannot be read; the message names the file and how to start over."""


def corrupt_backup(path, backup_dir, error) -> CorruptBackup:
    return CorruptBackup(
        f"{path}: the run's backup cannot be read ({error}). To start the run over, delete "
        f"{backup_dir} (training restarts from its first epoch), or train into a new "
        "--run-dir."
    )


class FiniteBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` that never backs up a diverged state, and
    says which file is broken when a backup cannot be restored.

    Keras still ends the epoch after a stop, and the stock callback would then save the
    NaN weights as the state to resume from; this one keeps the last good backup.
    """

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError, KeyError) as error:
            raise corrupt_backup(self._weights_path, self.backup_dir, error) from error

    def on_epoch_end(self, epoch, logs=None):
        if _non_finite_losses(logs):
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        """Write the backup so that a kill at any moment leaves a complete one: the
        weights go to a temporary file (named by this process's id), are read back, and
        replace the previous backup's in one rename; the epoch count follows the same
        way. Killed between the two renames, a run resumes one epoch early, from newer
        weights: nothing is lost. (Keras' own callback rewrites the file in place, and a
        kill during the write leaves it empty.)"""
        os.makedirs(self.backup_dir, exist_ok=True)
        partial = os.path.join(self.backup_dir, f"{PARTIAL_BACKUP_PREFIX}{os.getpid()}.weights.h5")
        try:
            self.model.save_weights(filepath=partial, overwrite=True)
            with h5py.File(partial, "r"):
                pass
            os.replace(partial, self._weights_path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        metadata = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
        outputs.write_atomically(
            self._training_metadata_path, lambda handle: handle.write(metadata.encode())
        )


# Backups being written are named .partial-<pid>.weights.h5 (Keras wants that suffix); a
# killed run's are removed when the run resumes (remove_partial_backups).
PARTIAL_BACKUP_PREFIX = ".partial-"


def remove_partial_backups(backup_dir) -> list[str]:
    """Remove the half-written backups a killed run left in ``backup_dir``."""
    removed = []
    if os.path.isdir(backup_dir):
        for name in os.listdir(backup_dir):
            if name.startswith(PARTIAL_BACKUP_PREFIX) or name.endswith(outputs.TEMPORARY_SUFFIX):
                os.remove(os.path.join(backup_dir, name))
                removed.append(name)
    return removed
