"""Loading TensorFlow without its C++ start-up lines on the terminal.

TensorFlow's native runtime writes start-up lines (the oneDNN notice, CUDA driver
probing, cpu_feature_guard) straight to file descriptor 2 while it loads and while it
first lists devices. They bypass Python's ``sys.stderr``, and the absl-formatted ones
ignore ``TF_CPP_MIN_LOG_LEVEL``, so no Python or TensorFlow setting hides them: the only
way is to point descriptor 2 elsewhere for those moments. What was written then is
replayed, less the lines in TensorFlow's log formats, so a real failure still shows.
"""

import contextlib
import os
import re
import sys
import tempfile

VERBOSE_ENV = "KCOLOR_VERBOSE"

# absl's format ("I0000 00:00:1796560614.479222    2172 port.cc:153] ...") and
# TensorFlow's own ("2026-12-06 12:00:00.000000: I tensorflow/... ] ..."), the absl
# preamble, and the unprefixed second line cpu_feature_guard writes.
_NATIVE_LOG_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: )"
)


def verbose_requested(flag: bool = False) -> bool:
    """True when ``flag`` is set or the ``KCOLOR_VERBOSE`` environment variable is 1/true."""
    return flag or os.environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes")


def without_native_log_lines(text: str) -> str:
    """``text`` less the lines in TensorFlow's and absl's C++ log formats."""
    kept = [line for line in text.splitlines(True) if not _NATIVE_LOG_LINE.match(line)]
    return "".join(kept)


@contextlib.contextmanager
def _native_stderr_filtered():
    """Point file descriptor 2 at a temporary file; on exit restore it and replay what was
    written less TensorFlow's log lines (everything, if the block raised)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            sys.stderr.write(text if failed else without_native_log_lines(text))
            sys.stderr.flush()


def load_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow and initialise its devices, hiding the C++ start-up lines unless
    ``verbose`` (or ``KCOLOR_VERBOSE=1``). Later TensorFlow C++ log lines are hidden
    too, through ``TF_CPP_MIN_LOG_LEVEL=3`` unless that is already set: they name no file
    (libjpeg's "Premature end of JPEG data" among them), and a failure they describe
    reaches kcolor as an error, which it reports with the file's name."""
    if verbose_requested(verbose):
        import tensorflow  # noqa: F401 (loaded here so its lines come first)

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _native_stderr_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices()
