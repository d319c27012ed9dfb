"""Running the ``kcolor`` command and the scripts in the test process.

Each ``python -m kcolor.cli`` process spends seconds importing TensorFlow and loading
models before it does anything; in-process runs share one import and the model cache.
What differs in a real process (the entry point, start-up output, exit status) is
tested with real processes in ``tests/test_cli.py`` and
``tests/test_cli_colorize.py::test_colorize_uses_the_bundled_models``.
"""

import contextlib
import io
import runpy
import subprocess
import sys

from kcolor import cli


def run_kcolor(*arguments) -> subprocess.CompletedProcess:
    """``kcolor ARGUMENTS...`` run through :func:`kcolor.cli.main`, with what it printed:
    a ``CompletedProcess`` (``returncode``, ``stdout``, ``stderr``) like
    ``subprocess.run(..., capture_output=True, text=True)`` gives."""
    arguments = [str(argument) for argument in arguments]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = cli.main(arguments)
        except SystemExit as exit_request:  # argparse refusing the arguments
            code = exit_request.code
    return subprocess.CompletedProcess(arguments, code, stdout.getvalue(), stderr.getvalue())


def run_script(path, *arguments) -> subprocess.CompletedProcess:
    """``python PATH ARGUMENTS...`` run in this process with ``runpy`` (as ``__main__``),
    with what it printed, as :func:`run_kcolor` gives it."""
    arguments = [str(argument) for argument in arguments]
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv = sys.argv
    sys.argv = [str(path), *arguments]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                runpy.run_path(str(path), run_name="__main__")
                code = 0
            except SystemExit as exit_request:
                # As the interpreter does: None is success, a message goes to stderr.
                code = exit_request.code
                if code is None:
                    code = 0
                elif not isinstance(code, int):
                    print(code, file=sys.stderr)
                    code = 1
    finally:
        sys.argv = saved_argv
    return subprocess.CompletedProcess(
        [str(path), *arguments], code, stdout.getvalue(), stderr.getvalue()
    )
