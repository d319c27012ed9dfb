"""The trained models that ship inside the package (``kcolor/weights/``).

``kcolor/weights/manifest.json`` lists each bundled model: its weights file (Keras'
``.weights.h5`` layout with large arrays stored as float16), the file's sha256, the
model's architecture (its Keras config), and how it was trained and measured. Loading
checks the file against the sha256 before using it.
"""

import contextlib
import datetime
import hashlib
import json
import os
from pathlib import Path

import h5py
import keras
import numpy as np

from kcolor.errors import ModelFileError

MANIFEST = "manifest.json"
# Arrays up to this many values (biases, tap scales) stay float32; they cost nothing.
_FLOAT16_MIN_SIZE = 1024


def weights_folder() -> Path:
    """Where the bundled weights live: ``kcolor/weights`` inside the installed package."""
    return Path(__file__).parent.parent / "weights"


def read_manifest(folder=None) -> dict:
    """The manifest of a weights folder: ``{"default": NAME, "models": {NAME: entry}}``."""
    path = Path(folder or weights_folder()) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: this kcolor installation has no bundled models. Reinstall "
            "kcolor, or pass a trained model file (--model PATH.keras)."
        )
    return json.loads(path.read_text())


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def available(folder=None) -> list[str]:
    """Names of the bundled models (empty when none ship)."""
    with contextlib.suppress(FileNotFoundError):
        return sorted(read_manifest(folder)["models"])
    return []


def load(name: str | None = None, folder=None) -> keras.Model:
    """Build a bundled model and load its checked weights.

    A guided GAN generator (:class:`~kcolor.models.GuidedColorGenerator`) stores only its
    own generator's weights; its guide's come from the bundled model its entry names,
    checked against the sha256 the generator was bundled with.

    Args:
        name: a bundled model's name (``"hypercolumn"``, ``"gan"``); None or
            ``"default"`` for the manifest's default.
        folder: the weights folder (default: the package's own).

    Raises:
        FileNotFoundError: no such bundled model, or its file is missing.
        ValueError: the file does not match its sha256 (corrupt or altered).
    """
    folder = Path(folder or weights_folder())
    manifest = read_manifest(folder)
    if name in (None, "default"):
        name = manifest["default"]
    path = _checked_file(folder, manifest, name)
    entry = manifest["models"][name]
    import kcolor.models  # noqa: F401 - registers the classes the config names

    model = keras.saving.deserialize_keras_object(entry["model"])
    if "guide" not in entry:
        if not model.built:
            model(np.zeros((1, 32, 32, 1), "float32"))
        model.load_weights(path)
        return model
    guide_name, guide_digest = entry["guide"]["name"], entry["guide"]["sha256"]
    guide_path = _checked_file(folder, manifest, guide_name)
    if manifest["models"][guide_name]["sha256"] != guide_digest:
        raise ModelFileError(
            f"The bundled {name!r} model was trained with a different {guide_name!r} model "
            f"(sha256 {guide_digest}) than the one bundled now. Reinstall kcolor."
        )
    if not model.guide.built:
        model.guide(np.zeros((1, 32, 32, 1), "float32"))
    model.guide.load_weights(guide_path)
    model.generator.load_weights(path)
    return model


def _checked_file(folder: Path, manifest: dict, name: str) -> Path:
    """The weights file of bundled model ``name``, checked against its sha256."""
    if name not in manifest["models"]:
        raise FileNotFoundError(
            f"No bundled model named {name!r}; bundled: {sorted(manifest['models'])}."
        )
    entry = manifest["models"][name]
    path = folder / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the bundled {name!r} weights are missing. Reinstall kcolor "
            "(pip install --force-reinstall kcolor)."
        )
    digest = sha256_of(path)
    if digest != entry["sha256"]:
        raise ModelFileError(
            f"{path}: the bundled {name!r} weights are corrupt (sha256 {digest}, expected "
            f"{entry['sha256']}). Reinstall kcolor (pip install --force-reinstall kcolor)."
        )
    return path


def _copy_with_large_arrays_as_float16(source: Path, target: Path) -> None:
    # A new file rather than edits in place: HDF5 does not give back a deleted array's space.
    with h5py.File(source, "r") as old, h5py.File(target, "w") as new:
        new.attrs.update(old.attrs)

        def copy(name, item):
            if isinstance(item, h5py.Group):
                new.create_group(name).attrs.update(item.attrs)
                return
            values = item[()]
            if item.dtype == np.float32 and item.size > _FLOAT16_MIN_SIZE:
                values = values.astype(np.float16)
            new.create_dataset(name, data=values).attrs.update(item.attrs)

        old.visititems(copy)


def _architecture(model: keras.Model) -> dict:
    """The model's Keras config without its compile settings (a colorizer needs none),
    in float32: a model trained in mixed precision is stored to compute in float32, and
    ``--precision`` chooses the arithmetic at run time."""
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    if "dtype" in config.get("config", {}):
        config["config"]["dtype"] = keras.saving.serialize_keras_object(
            keras.DTypePolicy("float32")
        )
    return config


def _without_training_state(model: keras.Model) -> keras.Model:
    # A fresh, uncompiled copy: save_weights would otherwise store the optimizer's slots
    # too (Adam keeps two per weight, tripling the file).
    import kcolor.models  # noqa: F401 - registers the classes the config names

    copy = keras.saving.deserialize_keras_object(_architecture(model))
    if not copy.built:
        copy(np.zeros((1, 32, 32, 1), "float32"))
    copy.set_weights(model.get_weights())
    return copy


def write(
    model: keras.Model,
    name: str,
    folder,
    metadata: dict,
    default: bool = False,
    guide: str | None = None,
    half_precision: bool = True,
) -> dict:
    """Add ``model`` to a weights folder as ``NAME.weights.h5`` and record it in the manifest.

    Only what colorizing needs is stored: the weights (float16 where an array has more
    than 1,024 values; Keras loads them into float32 variables) and the architecture.
    The file is written under a temporary name and renamed when complete.

    Args:
        model: a built model (for the GAN, pass its generator: all colorizing needs).
        name: the bundled name.
        folder: the weights folder.
        metadata: how it was trained and measured (data, steps, wall time, config,
            metrics); stored with the entry.
        default: make it the model ``kcolor colorize`` uses without ``--model``.
        half_precision: store large arrays as float16 (halves a large model's file);
            False keeps every array float32, for small models whose colouring float16
            would move (a MobileNet's depthwise kernels).
        guide: for a :class:`~kcolor.models.GuidedColorGenerator`, the bundled model its
            guide is (e.g. ``"hypercolumn"``): only the generator's own weights are
            stored, and the guide's are loaded from that model (checked to be the same).

    Returns:
        The manifest entry.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored, reference = model, {}
    if guide is not None:
        stored, reference = model.generator, {"guide": _guide_reference(model, guide, folder)}
    file_name = f"{name}.weights.h5"
    partial = folder / f"partial-{file_name}"
    full_precision = folder / f"partial-float32-{file_name}"
    try:
        _without_training_state(stored).save_weights(full_precision)
        if half_precision:
            _copy_with_large_arrays_as_float16(full_precision, partial)
        else:
            os.replace(full_precision, partial)
        os.replace(partial, folder / file_name)
    finally:
        for leftover in (partial, full_precision):
            leftover.unlink(missing_ok=True)
    config = _architecture(model)
    entry = {
        "file": file_name,
        "sha256": sha256_of(folder / file_name),
        "bytes": (folder / file_name).stat().st_size,
        "storage": (
            f"float16 for arrays over {_FLOAT16_MIN_SIZE} values, float32 otherwise"
            if half_precision
            else "float32"
        ),
        "written": datetime.date.today().isoformat(),
        "model": config,
        **reference,
        **metadata,
    }
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest.setdefault("models", {})[name] = entry
    if default or "default" not in manifest:
        manifest["default"] = name
    partial_manifest = folder / f"partial-{MANIFEST}"
    partial_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(partial_manifest, manifest_path)
    return entry


def _guide_reference(model: keras.Model, guide: str, folder: Path) -> dict:
    """``{"name", "sha256"}`` of bundled model ``guide``, after checking that ``model``'s
    guide holds exactly its weights (as stored: large arrays in float16)."""
    bundled_guide = load(guide, folder)
    for stored, held in zip(bundled_guide.get_weights(), model.guide.get_weights(), strict=True):
        if stored.shape != held.shape or np.max(np.abs(stored - held), initial=0.0) > 1e-6:
            raise ModelFileError(
                f"The model's guide is not the bundled {guide!r} model: bundle the guide "
                "first, and train the guided GAN with it."
            )
    return {"name": guide, "sha256": read_manifest(folder)["models"][guide]["sha256"]}


def set_mean_tint(folder, ab, about: str) -> None:
    """Record the training photos' average colour ``ab`` (Lab a, b) in the manifest of
    ``folder``: the constant tint ``kcolor evaluate`` reports as a baseline."""
    manifest_path = Path(folder) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["mean_tint"] = {"ab": [float(value) for value in ab], "about": about}
    partial = Path(folder) / f"partial-{MANIFEST}"
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(partial, manifest_path)
