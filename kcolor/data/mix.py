"""Build a training mix: several photo collections as TFRecord shards, each with its own
held-out validation split, near-gray photos left out, and a JSON record of what went in.

A mix is described by a spec (YAML or JSON; ``scripts/configs/training_mix.yaml`` is the
bundled model's)::

    val_fraction: 0.03          # share of each source held out for validation
    min_color_spread: 2.5       # Lab units; photos whose colours spread less are near-gray
    sources:
      miniplaces:               # the source's name in the mix
        title: MiniPlaces (100 Places scene classes)
        origin: https://github.com/...@commit (folder)
        terms: non-commercial research and education
        folders: [miniplaces/images/train]   # relative to the --root folder
        weight: 0.45            # mixing weight for training

and :func:`build_mix` writes::

    MIX/<source>/train-00000-of-00012.tfrecord ...
    MIX/<source>/val-00000-of-00001.tfrecord
    MIX/mix.json     sources, terms, counts (listed, unreadable, near-gray, train, val),
                     the mix's mean colour (the mean-tint baseline)
    MIX/data.yaml    a run config naming every source's shards with its weight
                     (kcolor train --config MIX/data.yaml)
"""

import dataclasses
import datetime
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import tensorflow as tf
import yaml
from tqdm import tqdm

from kcolor import color, images, outputs
from kcolor.data import decoding, sources, tfrecords
from kcolor.errors import ConfigError

# Near-gray is judged on a copy at most this many pixels on its longer side: enough to
# measure mean colours, and it keeps the scan of 100,000 photos to minutes.
_MEASURE_SIDE = 96


@dataclasses.dataclass(frozen=True)
class MixSource:
    """One collection in a mix; see the module docstring for the fields."""

    name: str
    folders: tuple[str, ...]
    weight: float = 1.0
    title: str = ""
    origin: str = ""
    terms: str = ""


@dataclasses.dataclass(frozen=True)
class MixSpec:
    sources: tuple[MixSource, ...]
    val_fraction: float = 0.03
    min_color_spread: float = 2.5


def load_spec(path) -> MixSpec:
    """Read a mix spec (YAML or JSON); raises ValueError naming the file on bad content."""
    path = Path(path)
    values = yaml.safe_load(path.read_text())
    if not isinstance(values, dict) or not isinstance(values.get("sources"), dict):
        raise ConfigError(f"{path}: a mix spec is a mapping with a 'sources' mapping")
    mix_sources = []
    for name, entry in values["sources"].items():
        folders = entry.get("folders")
        if not folders:
            raise ConfigError(f"{path}: source {name!r} names no folders")
        mix_sources.append(
            MixSource(
                name=str(name),
                folders=tuple([folders] if isinstance(folders, str) else folders),
                weight=float(entry.get("weight", 1.0)),
                title=str(entry.get("title", "")),
                origin=str(entry.get("origin", "")),
                terms=str(entry.get("terms", "")),
            )
        )
    spec = MixSpec(
        tuple(mix_sources),
        float(values.get("val_fraction", 0.03)),
        # min_colour_spread: the key's kcolor 0.1 spelling, read until kcolor 0.3.
        float(values.get("min_color_spread", values.get("min_colour_spread", 2.5))),
    )
    if not 0 <= spec.val_fraction < 1:
        raise ConfigError(f"{path}: val_fraction must be in [0, 1). Received: {spec.val_fraction}")
    return spec


def is_validation(relative_name: str, val_fraction: float) -> bool:
    """Whether a photo belongs to its source's validation split.

    Decided by a hash of its name within the source, so the split is the same on every
    machine and stays put when photos are added or removed.
    """
    digest = hashlib.sha256(relative_name.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < val_fraction


def _color_statistics(encoded):
    """Encoded bytes -> float32 [mean a, mean b, colour spread] in Lab units.

    The spread is the mean distance of each pixel's ab from the photo's mean ab: below 1
    for gray scans and flat-toned prints, 5-30 for most colour photos. Strongly toned
    photos (sepia with deep shadows) can reach 3, as can genuinely muted colour photos
    (fog, snow): 2.5 drops 2-11% of the public collections kcolor trains on.
    """
    rgb = decoding.decode_image_bytes(encoded)
    shape = tf.cast(tf.shape(rgb)[:2], tf.float32)
    scale = tf.minimum(1.0, _MEASURE_SIDE / tf.reduce_max(shape))
    small = images.resize_image(rgb, tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), 1))
    ab = tf.reshape(color.rgb_to_lab(small)[..., 1:], [-1, 2])
    mean_ab = tf.reduce_mean(ab, axis=0)
    spread = tf.reduce_mean(tf.norm(ab - mean_ab, axis=-1))
    return tf.concat([mean_ab, [spread]], axis=0)


def measure_photos(paths, progress: bool = True):
    """Yield ``(path, problem, statistics)`` for each path, in order, measured in parallel.

    ``problem`` is None for a readable photo (then ``statistics`` is [mean a, mean b,
    colour spread]) and the reason otherwise (then ``statistics`` is None).
    """
    paths = list(paths)
    measured = tf.data.Dataset.from_tensor_slices(paths).interleave(
        lambda path: decoding.try_process(path, tf.io.read_file(path), _color_statistics),
        cycle_length=tf.data.AUTOTUNE,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    # A file that cannot even be read (vanished, no permission) fails read_file; such
    # files are left out of the listing before this runs.
    results = measured.map(
        lambda name, encoded, stats, ok: (
            name,
            tf.where(ok, "", decoding.explain_undecodable(encoded)),
            stats,
        )
    )
    for name, problem, stats in tqdm(
        results.as_numpy_iterator(), total=len(paths), unit="img", disable=not progress
    ):
        yield name.decode(), problem.decode() or None, None if problem else stats.tolist()


def build_mix(
    spec: MixSpec,
    root,
    output_dir,
    *,
    images_per_shard: int = 2000,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Write the mix ``spec`` describes from the photos under ``root``; see the module doc.

    Unreadable files and near-gray photos (colour spread below
    ``spec.min_color_spread``) are left out and counted per source.

    Returns:
        The record written to ``MIX/mix.json``.

    Raises:
        FileExistsError: ``output_dir`` holds a mix already and ``overwrite`` is false.
        FileNotFoundError, ValueError: a source folder is missing or holds no photo.
    """
    output_dir = Path(output_dir)
    record_path = output_dir / "mix.json"
    if record_path.exists() and not overwrite:
        raise FileExistsError(f"{record_path} exists; pass --overwrite to rebuild the mix")
    output_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "written": datetime.date.today().isoformat(),
        "val_fraction": spec.val_fraction,
        "min_color_spread": spec.min_color_spread,
        "sources": {},
    }
    for source in spec.sources:
        record["sources"][source.name] = _build_source(
            source, Path(root), output_dir, spec, images_per_shard, progress
        )
    record["mean_tint"] = mean_tint(record["sources"])
    text = json.dumps(record, indent=2) + "\n"
    for path, content in ((record_path, text), (output_dir / "data.yaml", _data_config(record))):
        outputs.write_atomically(
            str(path), lambda handle, content=content: handle.write(content.encode())
        )
    return record


def _build_source(source: MixSource, root: Path, output_dir: Path, spec, per_shard, progress):
    folders = [str(root / folder) for folder in source.folders]
    listed = [path for resolved in sources.resolve_sources(folders) for path in resolved.images]
    readable = sources.readable_files(listed)
    splits = {"train": [], "val": []}
    unreadable, near_gray = len(listed) - len(readable), 0
    sums = [0.0, 0.0]
    if progress:
        print(f"{source.name}: {len(listed)} photo(s)", file=sys.stderr)
    for path, problem, stats in measure_photos(readable, progress):
        if problem:
            sources.warn_skipped(path, problem)
            unreadable += 1
            continue
        if stats[2] < spec.min_color_spread:
            near_gray += 1
            continue
        relative = os.path.relpath(path, root)
        split = "val" if is_validation(relative, spec.val_fraction) else "train"
        splits[split].append((relative, path))
        if split == "train":
            sums[0] += stats[0]
            sums[1] += stats[1]
    folder = output_dir / source.name
    shards = {}
    for split, members in splits.items():
        shards[split] = _write_split(folder, split, members, per_shard)
    trained = len(splits["train"])
    return {
        "title": source.title,
        "origin": source.origin,
        "terms": source.terms,
        "weight": source.weight,
        "listed": len(listed),
        "unreadable": unreadable,
        "near_gray": near_gray,
        "train": trained,
        "val": len(splits["val"]),
        "train_shards": shards["train"],
        "val_shards": shards["val"],
        "mean_ab": [sums[0] / trained, sums[1] / trained] if trained else None,
    }


def _write_split(folder: Path, split: str, members, per_shard: int) -> list[str]:
    if not members:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    count = math.ceil(len(members) / per_shard)
    names = []
    for index in range(count):
        name = f"{split}-{index:05d}-of-{count:05d}.tfrecord"
        chunk = members[index * per_shard : (index + 1) * per_shard]
        # Records are named by their path within the source collection, never by where
        # the collection happened to lie on the machine that built the mix.
        tfrecords.write_shard(str(folder / name), chunk)
        names.append(f"{folder.name}/{name}")
    return names


def mean_tint(source_records: dict) -> list[float]:
    """The mix's average colour ``[a, b]`` in Lab units: each source's mean photo colour,
    weighted by its mixing weight (what a model trained on the mix sees on average)."""
    weighted = [(s["weight"], s["mean_ab"]) for s in source_records.values() if s["mean_ab"]]
    total = sum(weight for weight, _ in weighted)
    if not total:
        return [0.0, 0.0]
    return [round(sum(w * ab[axis] for w, ab in weighted) / total, 3) for axis in (0, 1)]


def _data_config(record: dict) -> str:
    data_items, val_items = [], []
    for name, entry in record["sources"].items():
        if entry["train_shards"]:
            data_items.append(
                {"name": name, "path": f"{name}/train-*.tfrecord", "weight": entry["weight"]}
            )
        if entry["val_shards"]:
            val_items.append(f"{name}/val-*.tfrecord")
    header = (
        "# Written by kcolor's mix builder: the mix's training shards with their mixing\n"
        "# weights, and its validation shards. Paths are relative to this file's folder.\n"
    )
    return header + yaml.safe_dump({"data": data_items, "val": val_items}, sort_keys=False)
