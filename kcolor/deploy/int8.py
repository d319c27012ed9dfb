"""``precision="int8"``: the network as a dynamic-range int8 TFLite model, made on first use.

The model is converted (``dynamic-int8``: int8 weights, float activations, see
:mod:`kcolor.deploy.tflite`) for each processing shape it meets, since XNNPACK runs a
fixed-size model faster than a resizable one, and each conversion is cached in the
user's cache folder (``$XDG_CACHE_HOME/kcolor/int8``), named by the sha256 of the
model's config and weights and by the shape. A later run with the same model and photo
shapes loads them in a fraction of a second; a retrained model gets new files. At most
:data:`CACHED_SHAPES` shapes are kept per model, the least recently used removed first.
"""

import collections
import contextlib
import hashlib
import os
import time
from pathlib import Path

import keras
import numpy as np

from kcolor import inference, outputs, precision
from kcolor.deploy import tflite

VARIANT = "dynamic-int8"
# Shapes kept on disk per model (each file is about half the float32 weights' size).
CACHED_SHAPES = 8
# Interpreters kept open per colorizer: each holds its model and XNNPACK's packed weights.
OPEN_SHAPES = 2


def model_digest(model: keras.Model) -> str:
    """sha256 of ``model``'s class, config and weights: what its TFLite conversion is
    made of."""
    digest = hashlib.sha256()
    digest.update(type(model).__name__.encode())
    digest.update(precision.config_key(model).encode())
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()


def cache_folder() -> Path:
    """Where the converted models are kept."""
    return Path(precision.user_cache_folder()) / "int8"


def _mark_used(path: Path) -> None:
    # The precise clock: file times the kernel sets follow a coarser one (a few ms), which
    # would let a file used just now look older than one written a moment before.
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def _evict(folder: Path, digest: str, keep: int) -> None:
    """Remove all but the ``keep`` most recently used conversions of one model."""
    used = {}
    for path in folder.glob(f"{digest}-*.tflite"):
        with contextlib.suppress(FileNotFoundError):  # another run may evict it meanwhile
            used[path] = path.stat().st_mtime_ns
    for stale in sorted(used, key=used.get)[:-keep]:
        stale.unlink(missing_ok=True)


def converted_model(model: keras.Model, digest: str, height: int, width: int) -> Path:
    """The cached int8 TFLite file of ``model`` at ``height`` x ``width``, converted now
    if it is not in the cache (written atomically: concurrent runs never see a partial
    file)."""
    folder = cache_folder()
    path = folder / f"{digest}-{height}x{width}.tflite"
    if path.is_file():
        _mark_used(path)  # marks it recently used
        return path
    folder.mkdir(parents=True, exist_ok=True)
    flatbuffer = tflite.convert(model, VARIANT, (height, width))
    outputs.write_atomically(str(path), lambda handle: handle.write(flatbuffer), replace=True)
    _evict(folder, digest, CACHED_SHAPES)
    return path


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the system reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Int8Colorizer(tflite.LiteColorizer):
    """A Keras colorizer run as cached int8 TFLite models, with
    :class:`kcolor.inference.Colorizer`'s calling convention and processing size rule
    (the same processing shapes, so only the network's arithmetic differs).

    Args:
        model: a colorization model (hypercolumn, GAN or generator).
        size: shorter side of the processing size, in pixels.
        num_threads: CPU threads of each interpreter (default: all of this machine's).
    """

    def __init__(self, model: keras.Model, size: int = 256, num_threads: int | None = None):
        keras_colorizer = inference.Colorizer(model, size)  # checks model type and size
        self.model = keras_colorizer.network
        self.digest = model_digest(self.model)
        self.size = size
        self.precision = "int8"
        self.multiple = keras_colorizer.multiple
        self.diverse = keras_colorizer.diverse
        self.noise_channels = keras_colorizer.noise_channels
        self.fixed_side = None
        self.num_threads = num_threads or _usable_cpus()
        self._runners = collections.OrderedDict()

    def runner_for(self, height: int, width: int):
        """The runner for ``height`` x ``width``, converting the model on first use."""
        shape = (int(height), int(width))
        if shape in self._runners:
            path, runner = self._runners[shape]
            self._runners.move_to_end(shape)
            with contextlib.suppress(OSError):  # another run may have evicted it meanwhile
                _mark_used(path)  # recently used, for the cache's eviction order
            return runner
        path = converted_model(self.model, self.digest, *shape)
        runner = tflite.signature_runner(str(path), self.num_threads)
        self._runners[shape] = (path, runner)
        while len(self._runners) > OPEN_SHAPES:
            self._runners.popitem(last=False)
        return runner
