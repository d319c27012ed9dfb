"""Training across two worker processes on 127.0.0.1 with MultiWorkerMirroredStrategy."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import colour_photo
from PIL import Image

TASK = Path(__file__).parent / "helpers" / "multi_worker_task.py"


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def run_two_workers(mode, photos, out):
    """Start both workers, wait for both; returns their (returncode, stderr)."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        environment = dict(os.environ)
        environment["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, str(TASK), mode, str(photos), str(out)],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for process in processes:
        try:
            _, stderr = process.communicate(timeout=420)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            pytest.fail("a worker hung")
        results.append((process.returncode, stderr))
    return results


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(8):
        Image.fromarray(colour_photo(40, 40, index)).save(folder / f"{index}.jpg")
    return folder


# Three processes and a cluster set-up: the long form of
# test_keras_still_needs_the_multi_worker_fixes.
@pytest.mark.large
def test_two_workers_end_with_identical_weights(tmp_path, photos):
    out = tmp_path / "out"
    out.mkdir()
    for returncode, stderr in run_two_workers("kcolor", photos, out):
        assert returncode == 0, stderr[-3000:]
    for model in ("hypercolumn", "gan"):
        first = np.load(out / f"{model}_0.npz")
        second = np.load(out / f"{model}_1.npz")
        assert len(first.files) == len(second.files) > 0
        for name in first.files:
            np.testing.assert_array_equal(first[name], second[name], err_msg=f"{model} {name}")
        # Only the chief wrote the run's outputs.
        run = out / f"{model}_run"
        assert (run / "model.keras").is_file()
        assert sorted(p.name for p in (run / "backup").iterdir()) == ["worker_0", "worker_1"]


def test_keras_still_needs_the_multi_worker_fixes(tmp_path, photos):
    """When this fails, Keras fixed keras-team/keras#20585 and tensorflow/tensorflow#72388:
    delete kcolor/training/multi_worker.py and its use in kcolor/training/loop.py."""
    out = tmp_path / "out"
    out.mkdir()
    run_two_workers("plain-keras", photos, out)
    outcomes = [(out / f"plain_{index}.txt").read_text() for index in range(2)]
    for outcome in outcomes:
        assert outcome != "ok"
        assert "PerReplica" in outcome or "Invalid reduction dimension" in outcome, outcome
