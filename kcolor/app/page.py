"""The web page of ``kcolor app``, laid out with Gradio: drop photos, choose the model and
its settings, see each result as a before/after slider and every colouring in a gallery,
download them at full resolution or all at once as a zip.

Gradio is used because it gives, for a Python function, a page with file drops, image
galleries and a before/after slider, a job queue with each waiting browser's place shown,
progress bars, upload limits and an HTTP API (the tests drive it), without writing a web
front end; it is also what DDColor's and DeOldify's demos are built with.
"""

import os

import gradio as gr

from kcolor.app.service import PRECISIONS, ColorizeService
from kcolor.errors import ConfigError, KcolorError

TITLE = "kcolor: colorize black-and-white photos"
INTRODUCTION = (
    "Drop one or more photos or videos (black-and-white or colour: colour ones are "
    "colorized from their lightness). Each result has its original's full resolution. "
    "Everything runs on this computer; nothing is sent elsewhere."
)


def _colorize_drop(service: ColorizeService):
    """The page's colorize function over ``service``: page values in, page values out."""

    # Gradio finds the progress bar by this default value, hence the call in it.
    def colorize(
        files,
        model,
        samples,
        seed,
        precision,
        size,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008
    ):
        progress(0, desc="Starting")
        try:
            result = service.colorize(files, model, samples, _seed(seed), precision, size)
        except (KcolorError, FileNotFoundError) as error:
            raise gr.Error(str(error)) from error
        pairs = [(coloring.before, coloring.after) for coloring in result.colorings]
        gallery = [(coloring.after, coloring.name) for coloring in result.colorings]
        gallery += [(path, os.path.basename(path)) for path in result.videos]
        downloads = [coloring.full for coloring in result.colorings] + result.videos
        if result.archive:
            downloads.append(result.archive)
        lines = [result.summary]
        lines += [f"- **{name}**: {reason}" for name, reason in result.problems]
        return pairs[0] if pairs else None, gallery, downloads, "\n".join(lines), pairs

    return colorize


def _seed(text) -> int | None:
    """The seed box's value: empty for None, else a whole number."""
    text = str(text if text is not None else "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"The seed must be a whole number or empty. Received: {text!r}") from None


def _show_pair(pairs, selection: gr.SelectData):
    """The before/after of the gallery item the user clicked (videos, after the photos,
    have none: the slider keeps what it shows)."""
    return pairs[selection.index] if selection.index < len(pairs) else gr.skip()


def build_page(service: ColorizeService) -> gr.Blocks:
    """The page: its ``colorize`` endpoint (also the HTTP API, ``/colorize``) takes the
    files, model, samples, seed (None: random), precision and size, and returns the
    first photo's before/after, the gallery, the downloads, the report and the pairs."""
    with gr.Blocks(title="kcolor", analytics_enabled=False) as page:
        gr.Markdown(f"# {TITLE}\n{INTRODUCTION}")
        with gr.Row():
            with gr.Column(scale=1):
                files = gr.File(label="Photos and videos", file_count="multiple", type="filepath")
                model = gr.Dropdown(service.models, value=service.default_model, label="Model")
                samples = gr.Slider(
                    1, 8, value=1, step=1, label="Colourings per photo (the GAN model only)"
                )
                seed = gr.Textbox(value="", label="Seed (empty: a new one each time)")
                precision = gr.Dropdown(list(PRECISIONS), value="auto", label="Precision")
                size = gr.Slider(
                    64, 1024, value=256, step=32, label="Processing size (shorter side)"
                )
                run = gr.Button("Colorize", variant="primary")
            with gr.Column(scale=2):
                before_after = gr.ImageSlider(label="Before / after", type="filepath")
                gallery = gr.Gallery(
                    label="Colourings (click one to compare)", columns=4, height=260
                )
                report = gr.Markdown(elem_id="report")
                downloads = gr.File(
                    label="Downloads: full resolution, and all of them as a zip",
                    file_count="multiple",
                    interactive=False,
                )
        pairs = gr.State([])
        run.click(
            _colorize_drop(service),
            [files, model, samples, seed, precision, size],
            [before_after, gallery, downloads, report, pairs],
            api_name="colorize",
        )
        gallery.select(_show_pair, [pairs], before_after, api_name=False)
    return page
