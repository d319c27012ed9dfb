import os
import stat

import numpy as np
import pytest
from PIL import Image

from kcolor import jobs as batch
from kcolor import outputs


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"

    def interrupted_save(self, handle, *args, **kwargs):
        handle.write(b"\x89PNG half of it")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        outputs.save_image(np.zeros((4, 4, 3), np.uint8), str(target))
    assert os.listdir(tmp_path) == []


def test_outputs_inside_an_input_folder_are_not_inputs(tmp_path):
    photos = tmp_path / "photos"
    (photos / "coloured").mkdir(parents=True)
    for name in ("a.png", "coloured/a.png"):
        Image.new("RGB", (2, 2)).save(photos / name)
    jobs, problems = batch.plan_jobs([photos], photos / "coloured")
    assert [job.source for job in jobs] == [str(photos / "a.png")]
    assert jobs[0].outputs == (str(photos / "coloured" / "a.png"),)
    assert problems == []


def test_names_clash_is_a_problem_not_an_overwrite(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (2, 2)).save(tmp_path / folder / "same.png")
    jobs, problems = batch.plan_jobs(
        [tmp_path / "x" / "same.png", tmp_path / "y" / "same.png"], tmp_path / "out"
    )
    assert len(jobs) == 1 and len(problems) == 1
    assert "already" in problems[0][1]


def test_outputs_get_the_usual_file_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        target = tmp_path / "out.bin"
        outputs.write_atomically(str(target), lambda handle: handle.write(b"data"))
    finally:
        os.umask(umask)
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_inputs_in_the_output_folder_are_colorized_but_never_replaced(tmp_path):
    for name in ("photo.jpg", "scan.png"):
        Image.new("RGB", (2, 2)).save(tmp_path / name)
    jobs, problems = batch.plan_jobs(
        [tmp_path / "photo.jpg", tmp_path / "scan.png"], tmp_path, "png"
    )
    assert [job.outputs for job in jobs] == [(str(tmp_path / "photo.png"),)]
    assert problems == [
        (str(tmp_path / "scan.png"), "its output would replace the input itself; choose another -o")
    ]


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_no_output_lands_on_another_input_of_the_run(tmp_path, fmt):
    # x.jpg and x.png colorized into their own folder: each one's output is the other.
    for name in ("x.jpg", "x.png", "y.bmp"):
        Image.new("RGB", (2, 2)).save(tmp_path / name)
    jobs, problems = batch.plan_jobs([tmp_path], tmp_path, fmt)
    assert [job.source for job in jobs] == [str(tmp_path / "y.bmp")]
    other = "x.png" if fmt == "png" else "x.jpg"
    reasons = dict(problems)
    assert reasons[str(tmp_path / f"x.{'jpg' if fmt == 'png' else 'png'}")] == (
        f"its output would replace the input {tmp_path / other}; choose another -o"
    )
    assert "the input itself" in reasons[str(tmp_path / other)]


def test_a_file_that_appears_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "out.png"

    def write_while_another_run_finishes(handle):
        target.write_bytes(b"the other run's output")
        handle.write(b"ours")

    with pytest.raises(outputs.OutputExists):
        outputs.write_atomically(str(target), write_while_another_run_finishes, replace=False)
    assert target.read_bytes() == b"the other run's output"
    assert os.listdir(tmp_path) == ["out.png"]
    outputs.write_atomically(str(target), lambda handle: handle.write(b"ours"), replace=True)
    assert target.read_bytes() == b"ours"
