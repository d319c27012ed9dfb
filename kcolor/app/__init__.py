"""``kcolor app``: a local web page for colorizing photos (needs ``pip install "kcolor[app]"``).

kcolor.app.service  the colorize work of one drop of files (no Gradio).
kcolor.app.page     the page's layout and events (Gradio).

Uploads, results and the page's own cache live in one temporary folder, removed when the
app stops.
"""

import asyncio
import contextlib
import dataclasses
import os
import shutil
import socket
import tempfile

from kcolor.errors import ConfigError
from kcolor.limits import DEFAULT_MAX_PIXELS

DEFAULT_PORT = 7860


@dataclasses.dataclass(frozen=True)
class RunningApp:
    """A page being served: its address (``http://host:port/``) and the temporary folder
    holding its uploads and results (removed when it stops)."""

    address: str
    folder: str


def _gradio():
    try:
        import gradio
    except ImportError as error:
        raise ConfigError('the web page needs Gradio: pip install "kcolor[app]"') from error
    return gradio


def _free_port(host: str) -> int:
    """A port the system has free on ``host`` now. Gradio, given none, tries 7860 and up,
    so two apps started at once (two test workers, say) race for the same port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _close_loop_left_by_gradio():
    """Close the event loop Gradio set for this thread while building the page.

    Outside a running loop (a script, the CLI, not Jupyter) Gradio creates event loops and
    sets one as this thread's loop; nothing closes it, so each app run would leave a loop
    and its two sockets to the garbage collector, which warns about them later, wherever
    the collection happens to run.
    """
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:  # no loop was set for this thread: nothing was left
        return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


@contextlib.contextmanager
def running_app(
    host: str = "127.0.0.1",
    port: int | None = DEFAULT_PORT,
    extra_models=(),
    max_upload_mb: float = 50,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_files: int = 100,
    queue_size: int = 20,
):
    """Serve the page until the block ends; yields a :class:`RunningApp`.

    Args:
        host: the address to listen on; 127.0.0.1 (default) serves this computer only.
        port: the port; None takes a free one.
        extra_models: ``.keras`` / ``.tflite`` files offered beside the bundled models.
        max_upload_mb: larger uploads are refused by the page.
        max_pixels: photos of more pixels are refused (None: no limit).
        max_files: files per drop.
        queue_size: drops waiting at most; one runs at a time (a CPU is busy with one),
            the others wait with their place shown.
    """
    _gradio()
    from kcolor.app.page import build_page
    from kcolor.app.service import ColorizeService

    if not max_upload_mb > 0:
        raise ConfigError(f"max_upload_mb must be positive. Received: {max_upload_mb}")
    folder = tempfile.mkdtemp(prefix="kcolor-app-")
    previous_cache = os.environ.get("GRADIO_TEMP_DIR")
    # Gradio keeps uploads and what it serves in its cache folder: inside ours, so that
    # both go when the app stops.
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(folder, "page-cache")
    page = None
    outside_a_loop = _running_loop() is None
    try:
        service = ColorizeService(
            os.path.join(folder, "results"), extra_models, max_pixels, max_files=max_files
        )
        page = build_page(service)
        page.queue(default_concurrency_limit=1, max_size=queue_size)
        _, address, _ = page.launch(
            server_name=host,
            server_port=_free_port(host) if port is None else port,
            prevent_thread_lock=True,
            max_file_size=f"{max_upload_mb}mb",
            quiet=True,
            footer_links=[],
        )
        yield RunningApp(address, folder)
    finally:
        if page is not None:
            page.close()
            if outside_a_loop:
                _close_loop_left_by_gradio()
        if previous_cache is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous_cache
        shutil.rmtree(folder, ignore_errors=True)
