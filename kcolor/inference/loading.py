"""Loading models by name or file, once per process."""

import functools
import os
import zipfile

import keras

from kcolor.errors import ModelFileError
from kcolor.models import presets
from kcolor.models.base import ColorizationModel


def load_model(model=None):
    """A colorization model from a name, a ``.keras`` file or a model object.

    Args:
        model: None or "default" (the bundled default model), a bundled model's name
            (``kcolor.models.presets.available()``: "mobilenet_v2", "hypercolumn", "gan"),
            a path to a ``.keras`` file, or a loaded model.

    Returns:
        The model. Names and files are loaded once per process and the same object is
        returned on later calls, so a change to it (a decoding setting, say) is seen by
        every later call in the process.

    Raises:
        FileNotFoundError: the bundled weights or the file do not exist.
        ValueError: the bundled weights fail their sha256 check.
    """
    if isinstance(model, keras.Model):
        return model
    if model in (None, "default"):
        # By its own name, so that "default" and the name give the same loaded model.
        return _load_bundled(presets.read_manifest()["default"])
    path = os.fspath(model)
    if not os.path.exists(path) and path in presets.available():
        return _load_bundled(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    status = os.stat(path)
    return _load_file(os.path.realpath(path), status.st_mtime_ns, status.st_size)


# Loaded once per process: a model is tens of megabytes and seconds to build, and
# kcolor.colorize in a loop would otherwise load it on every call (and Keras keeps some
# of every load alive). Files are keyed by modification time and size too, so a model
# retrained in place is loaded afresh.
@functools.lru_cache(maxsize=4)
def _load_bundled(name: str) -> keras.Model:
    return presets.load(name)


@functools.lru_cache(maxsize=4)
def _load_file(path: str, modified_ns: int, size: int) -> keras.Model:
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        # Keras would call it "File not found".
        raise ModelFileError(f"{path}: not a Keras model file (a .keras file is a zip archive)")
    try:
        model = keras.saving.load_model(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise ModelFileError(
            f"{path}: not a kcolor model file Keras can load ({type(error).__name__}: "
            f"{str(error)[:200]})"
        ) from error
    if not isinstance(model, ColorizationModel):
        raise ModelFileError(
            f"{path}: a Keras {type(model).__name__}, not a kcolor model (kcolor's are "
            f"{', '.join(_model_kinds())})"
        )
    return model


def _model_kinds() -> list[str]:
    """Names of kcolor's model classes a model file may hold."""
    import kcolor.models

    return sorted(
        name
        for name in kcolor.models.__all__
        if isinstance(getattr(kcolor.models, name), type)
        and issubclass(getattr(kcolor.models, name), ColorizationModel)
        and name != "ColorizationModel"
    )
