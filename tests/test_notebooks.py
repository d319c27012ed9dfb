"""The notebooks run top to bottom (smoke mode: tiny models, a couple of steps)."""

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import colour_photo
from nbclient import NotebookClient
from PIL import Image

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.fixture
def notebook_env(tmp_path, monkeypatch):
    """Photos in train/ and val/ folders, and the environment the notebooks read."""
    for name, count in (("train", 8), ("val", 4)):
        folder = tmp_path / "photos" / name
        folder.mkdir(parents=True)
        for index in range(count):
            Image.fromarray(colour_photo(40, 48, index + 10 * count)).save(folder / f"{index}.jpg")
    # The kernel is started as "python": make that this interpreter.
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("KCOLOR_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("KCOLOR_TRAIN_DATA", str(tmp_path / "photos" / "train"))
    monkeypatch.setenv("KCOLOR_VAL_DATA", str(tmp_path / "photos" / "val"))
    monkeypatch.setenv("KCOLOR_PHOTOS", str(tmp_path / "photos" / "val"))
    monkeypatch.setenv("KCOLOR_RUN_DIR", str(tmp_path / "run"))
    return tmp_path


def execute(name, cwd):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    # The notebooks use kcolor's current names, never its deprecated aliases.
    errors = "".join(o.text for o in outputs_of(notebook, "stream") if o.name == "stderr")
    assert "moved to kcolor." not in errors and "is deprecated; use" not in errors
    return notebook


def outputs_of(notebook, kind):
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == kind
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_stored_without_outputs(name):
    notebook = json.loads((NOTEBOOKS / name).read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, name


@pytest.mark.parametrize("model", ["hypercolumn", "gan"])
def test_colorize_notebook(notebook_env, monkeypatch, tiny_model_files, model):
    monkeypatch.setenv("KCOLOR_MODEL", tiny_model_files[model])
    notebook = execute("01_colorize.ipynb", notebook_env)
    images = [o for o in outputs_of(notebook, "display_data") if "image/png" in o.data]
    assert len(images) == 4


def test_train_hypercolumn_notebook(notebook_env):
    notebook = execute("02_train_hypercolumn.ipynb", notebook_env)
    run = notebook_env / "run"
    assert (run / "model.keras").is_file()
    assert list((run / "logs" / "validation").glob("events.out.tfevents.*"))
    assert any("image/png" in o.data for o in outputs_of(notebook, "display_data"))


def test_train_gan_notebook(notebook_env):
    notebook = execute("03_train_gan.ipynb", notebook_env)
    assert (notebook_env / "run" / "model.keras").is_file()
    text = "".join(o.text for o in outputs_of(notebook, "stream") if o.name == "stdout")
    assert "diversity:" in text


def test_colorize_video_notebook(notebook_env, monkeypatch, tiny_model_files):
    from helpers.videos import pan, write_video

    clip = notebook_env / "clip.mp4"
    write_video(clip, pan(colour_photo(48, 120, 3), 8, 48, 64, step=3), audio_seconds=0.3)
    monkeypatch.setenv("KCOLOR_VIDEO", str(clip))
    monkeypatch.setenv("KCOLOR_VIDEO_OUTPUT", str(notebook_env / "out.mp4"))
    monkeypatch.setenv("KCOLOR_MODEL", tiny_model_files["hypercolumn"])
    notebook = execute("04_colorize_video.ipynb", notebook_env)
    assert (notebook_env / "out.mp4").is_file()
    images = [o for o in outputs_of(notebook, "display_data") if "image/png" in o.data]
    assert len(images) == 4
    text = "".join(o.text for o in outputs_of(notebook, "stream") if o.name == "stdout")
    assert "wrote" in text and "flicker (Lab)" in text
