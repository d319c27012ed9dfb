"""The training mix builder: splits, near-gray photos, the record and the data config."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import colour_photo
from helpers.command import run_script
from PIL import Image

from kcolor import data
from kcolor.data import mix
from kcolor.training import config as run_config

ROOT = Path(__file__).parent.parent


@pytest.fixture
def collections(tmp_path):
    """Two collections under one root: 'scenes' (40 colour photos, 2 gray, 1 nearly
    gray, 1 corrupt) and 'faces' (10 colour photos)."""
    root = tmp_path / "downloads"
    scenes, faces = root / "scenes" / "nested", root / "faces"
    scenes.mkdir(parents=True)
    faces.mkdir()
    for index in range(40):
        Image.fromarray(colour_photo(24, 32, index)).save(scenes / f"{index}.jpg")
    for index in range(10):
        Image.fromarray(colour_photo(30, 30, 100 + index)).save(faces / f"{index}.png")
    gray = np.repeat(colour_photo(24, 32, 7)[..., :1], 3, axis=-1)
    Image.fromarray(gray).save(scenes / "gray.png")
    Image.fromarray(gray).convert("L").save(scenes / "gray_l.png")
    faded = gray + 0.03 * (colour_photo(24, 32, 7).astype(np.float32) - gray)
    Image.fromarray(np.round(faded).astype(np.uint8)).save(scenes / "faded.png")
    (scenes / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "val_fraction: 0.25\n"
        "min_color_spread: 2.5\n"
        "sources:\n"
        "  scenes: {folders: [scenes], weight: 3, title: Scenes, terms: research only}\n"
        "  faces: {folders: faces, weight: 1}\n"
    )
    return root, spec


def test_mix_splits_each_source_and_leaves_out_gray_and_broken_photos(collections, tmp_path):
    root, spec = collections
    record = mix.build_mix(mix.load_spec(spec), root, tmp_path / "mix", progress=False)
    scenes, faces = record["sources"]["scenes"], record["sources"]["faces"]
    assert scenes["listed"] == 44 and scenes["unreadable"] == 1 and scenes["near_gray"] == 3
    assert scenes["train"] + scenes["val"] == 40 and faces["train"] + faces["val"] == 10
    # The split is by name: about a quarter of each source, the same on every build.
    assert 4 <= scenes["val"] <= 18 and scenes["val"] == sum(
        mix.is_validation(f"scenes/nested/{i}.jpg", 0.25) for i in range(40)
    )
    assert scenes["title"] == "Scenes" and scenes["terms"] == "research only"
    # Weighted by mixing weight, so the scenes count three times as much as the faces.
    expected = (3 * np.array(scenes["mean_ab"]) + np.array(faces["mean_ab"])) / 4
    np.testing.assert_allclose(record["mean_tint"], expected, atol=1e-3)

    # The record names photos within their collections, never where they lay.
    text = (tmp_path / "mix" / "mix.json").read_text()
    assert str(root) not in text and json.loads(text) == record
    val_shard = tmp_path / "mix" / "scenes" / "val-00000-of-00001.tfrecord"
    loaded = data.lab_dataset(str(val_shard), 16, 1, training=False)
    assert sum(1 for _ in loaded) == scenes["val"]

    # data.yaml trains on the shards with the weights, from any working folder.
    config = run_config.load_config(tmp_path / "mix" / "data.yaml").resolved()
    streams, weights = run_config.data_streams(config.data)
    assert weights == [3.0, 1.0] and len(config.val) == 2
    batches = data.lab_dataset(streams, 16, 8, seed=0, weights=weights)
    l_norm, ab_norm = next(iter(batches))
    assert l_norm.shape == (8, 16, 16, 1) and ab_norm.shape == (8, 16, 16, 2)

    with pytest.raises(FileExistsError, match="--overwrite"):
        mix.build_mix(mix.load_spec(spec), root, tmp_path / "mix", progress=False)


def test_mix_script_prints_the_counts(collections, tmp_path):
    root, spec = collections
    result = run_script(
        ROOT / "scripts" / "build_training_mix.py",
        spec,
        *("--root", root, "-o", tmp_path / "mix", "--quiet"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "scenes" in result.stdout and "mean tint" in result.stdout
    assert "skipped" in result.stderr and "broken.jpg" in result.stderr


def test_the_bundled_mix_spec_names_every_source_publicly():
    spec = mix.load_spec(ROOT / "scripts" / "configs" / "training_mix.yaml")
    assert len(spec.sources) >= 5
    for source in spec.sources:
        assert source.title and source.terms and "github.com" in source.origin
        assert source.weight > 0
