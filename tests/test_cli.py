import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import kcolor
from kcolor import cli, startup
from kcolor.cli import main
from kcolor.errors import ImageReadError


def test_version_is_printed_without_loading_tensorflow():
    probe = (
        "import sys\n"
        "from kcolor.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
    result = subprocess.run(
        [sys.executable, "-m", "kcolor.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"kcolor {kcolor.__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "make-tfrecords" in capsys.readouterr().out


def _native_lines(text):
    return [line for line in text.splitlines() if startup.without_native_log_lines(line) == ""]


def test_start_up_is_quiet_unless_verbose(tmp_path):
    """TensorFlow's C++ start-up lines (oneDNN, CUDA probing, cpu_feature_guard) stay off
    the terminal; --verbose brings them back."""
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(folder / "a.png")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", startup.VERBOSE_ENV)
    }

    def make_tfrecords(*flags, **extra_environment):
        command = [sys.executable, "-m", "kcolor.cli", *flags, "make-tfrecords", str(folder)]
        command += ["-o", str(tmp_path / f"shards{len(flags)}{len(extra_environment)}")]
        return subprocess.run(
            [*command, "--quiet"],
            capture_output=True,
            text=True,
            env={**environment, **extra_environment},
            timeout=300,
        )

    quiet = make_tfrecords()
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    # The flag reaches load_tensorflow as verbose_requested reads the variable (below).
    verbose = make_tfrecords("--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert _native_lines(verbose.stderr), verbose.stderr


def test_verbose_comes_from_the_flag_or_the_environment(monkeypatch):
    monkeypatch.delenv(startup.VERBOSE_ENV, raising=False)
    assert not startup.verbose_requested() and startup.verbose_requested(True)
    for value, verbose in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv(startup.VERBOSE_ENV, value)
        assert startup.verbose_requested() is verbose


def test_native_stderr_filter_keeps_other_lines_and_everything_on_failure(capfd):
    native = b"I0000 00:00:1796560614.479222    2172 port.cc:153] oneDNN custom operations\n"
    with startup._native_stderr_filtered():
        os.write(2, native + b"a real problem\n")
    assert capfd.readouterr().err == "a real problem\n"
    with pytest.raises(ImportError):
        with startup._native_stderr_filtered():
            os.write(2, native)
            raise ImportError("no tensorflow")
    assert capfd.readouterr().err == native.decode()


def test_kcolor_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    def unreadable(args):
        raise ImageReadError("photo.jpg: not an image (zero bytes)")

    monkeypatch.setattr(cli.tfrecords, "run", unreadable)
    assert cli.main(["make-tfrecords", "x", "-o", "y"]) == 1
    assert (
        capsys.readouterr().err
        == "kcolor make-tfrecords: error: photo.jpg: not an image (zero bytes)\n"
    )

    def bug(args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(cli.tfrecords, "run", bug)
    with pytest.raises(TypeError, match="unsupported operand"):
        cli.main(["make-tfrecords", "x", "-o", "y"])
