"""What the web page asks of kcolor: colorize a drop of uploaded files by the rules of
``kcolor colorize`` (the same planning, pipeline, limits and failure reasons), into a
folder of its own, with small previews for the page and a zip of the results.

Nothing here imports Gradio: the page (:mod:`kcolor.app.page`) only lays it out.
"""

import collections
import dataclasses
import os
import shutil
import tempfile
import zipfile

from PIL import Image

from kcolor import api, inference, jobs, outputs
from kcolor.errors import ConfigError

PRECISIONS = ("auto", "float32", "bfloat16", "int8")


@dataclasses.dataclass(frozen=True)
class Coloring:
    """One colouring of one uploaded photo.

    Attributes:
        name: the uploaded file's name (with ``_sample<k>`` for the GAN's draws).
        before: preview (JPEG) of the gray photo the model saw, longer side at most the
            service's ``preview_side``.
        after: preview (JPEG) of the colouring, same size as ``before``.
        full: the colouring at the photo's full resolution (PNG).
    """

    name: str
    before: str
    after: str
    full: str


@dataclasses.dataclass(frozen=True)
class DropResult:
    """What one drop gave: photos' colourings in upload order, files that failed with
    their reasons, the zip of every result (None when there is none), a summary line, and
    the colorized videos (full files, in their own format)."""

    colorings: list[Coloring]
    problems: list[tuple[str, str]]
    archive: str | None
    summary: str
    videos: list[str] = dataclasses.field(default_factory=list)


class ColorizeService:
    """Colorizes drops of uploaded files for the page.

    Args:
        work_folder: where each drop's results are written (a folder per drop, removed
            when the next drop starts or :meth:`remove_results` is called; the page
            copies what it shows to its own cache first).
        extra_models: ``.keras`` / ``.tflite`` files offered beside the bundled models.
        max_pixels: photos of more pixels are refused (None: no limit).
        preview_side: longer side of the previews shown on the page, in pixels.
        max_files: files per drop; more are refused before any work starts.
    """

    def __init__(
        self,
        work_folder: str,
        extra_models=(),
        max_pixels: int | None = inference.DEFAULT_MAX_PIXELS,
        preview_side: int = 1024,
        max_files: int = 100,
    ):
        from kcolor.models import presets

        self.work_folder = work_folder
        self.max_pixels = max_pixels
        self.preview_side = preview_side
        self.max_files = max_files
        missing = [path for path in extra_models if not os.path.isfile(path)]
        if missing:
            raise FileNotFoundError(f"Model file {missing[0]!r} does not exist.")
        self.models = [*presets.available(), *map(str, extra_models)]
        self.default_model = presets.read_manifest()["default"]
        # Colorizers kept ready: each holds a model and its traced graphs; two cover
        # switching back and forth without holding every model at once.
        self._colorizers = collections.OrderedDict()
        os.makedirs(work_folder, exist_ok=True)

    def colorizer(self, model: str, size: int, precision: str):
        """The colorizer of ``model`` (a name of :attr:`models`), kept for the next drop."""
        if model not in self.models:
            raise ConfigError(f"model must be one of {self.models}. Received: {model!r}")
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}. Received: {precision!r}")
        if model.endswith(".tflite"):
            precision = "auto"  # the file fixes its arithmetic
        key = (model, size, precision)
        if key not in self._colorizers:
            self._colorizers[key] = api.make_colorizer(model, size, precision)
            while len(self._colorizers) > 2:
                self._colorizers.popitem(last=False)
        self._colorizers.move_to_end(key)
        return self._colorizers[key]

    def colorize(self, paths, model=None, samples=1, seed=None, precision="auto", size=256):
        """Colorize the uploaded files ``paths`` into a new folder; see :class:`DropResult`.

        ``seed`` None picks one at random for the GAN (given in the summary, so the
        colourings can be had again); colouring ``k`` is that of ``seed + k``.

        Raises:
            ConfigError: settings out of range (the page shows the message).
        """
        paths = [os.fspath(path) for path in paths or []]
        samples, size = int(samples), int(size)
        if not paths:
            raise ConfigError("Drop one or more photos first.")
        if len(paths) > self.max_files:
            raise ConfigError(f"{len(paths)} files; at most {self.max_files} per drop.")
        if samples < 1 or size < 16:
            raise ConfigError("samples must be at least 1 and size at least 16.")
        model = model or self.default_model
        colorizer = self.colorizer(model, size, precision)
        colorizer.check_samples(samples)
        seed = colorizer.choose_seed(seed)
        self.remove_results()
        folder = tempfile.mkdtemp(prefix="drop-", dir=self.work_folder)
        names = {path: os.path.basename(path) for path in paths}
        planned, problems = jobs.plan_jobs(paths, os.path.join(folder, "colorized"), "png", samples)
        report = jobs.colorize_jobs(
            planned, colorizer, samples=samples, seed=seed, max_pixels=self.max_pixels
        )
        written = set(report.written)
        finished = [job for job in planned if all(path in written for path in job.outputs)]
        colorings = [
            self._coloring(path, folder)
            for job in finished
            if not jobs.is_video_job(job)
            for path in job.outputs
        ]
        colored_videos = [job.outputs[0] for job in finished if jobs.is_video_job(job)]
        problems = [
            (names.get(path, os.path.basename(path)), _without_folders(reason, paths, folder))
            for path, reason in [*problems, *report.failed]
        ]
        archived = [(c.full, c.name) for c in colorings]
        archived += [(path, os.path.basename(path)) for path in colored_videos]
        archive = self._archive(archived, folder) if archived else None
        settings = f"size {size}, seed {seed}" if colorizer.diverse else f"size {size}"
        summary = (
            f"Colorized {len(finished)} of {len(paths)} file(s) with "
            f"{os.path.basename(model)} ({settings})."
        )
        return DropResult(colorings, problems, archive, summary, colored_videos)

    def _coloring(self, full: str, folder: str) -> Coloring:
        """Previews of a written colouring: its gray (the lightness the model saw, equal
        to the photo's) and its colours."""
        previews = os.path.join(folder, "previews")
        os.makedirs(previews, exist_ok=True)
        name = os.path.basename(full)
        stem = os.path.splitext(name)[0]
        with Image.open(full) as image:
            image.thumbnail((self.preview_side, self.preview_side))
            after = os.path.join(previews, f"{stem}_after.jpg")
            before = os.path.join(previews, f"{stem}_before.jpg")
            image.save(after, quality=90)
            image.convert("L").save(before, quality=90)
        return Coloring(name, before, after, full)

    def _archive(self, files, folder: str) -> str:
        """A zip of ``files`` (``(path, name in the zip)``), written atomically."""
        path = os.path.join(folder, "kcolor-colorized.zip")

        def write(handle):
            with zipfile.ZipFile(handle, "w") as archive:
                for source, name in files:
                    archive.write(source, name)

        outputs.write_atomically(path, write, replace=False)
        return path

    def remove_results(self) -> None:
        """Remove the folders of earlier drops (the page has copied what it shows)."""
        for entry in os.scandir(self.work_folder):
            if entry.name.startswith("drop-") and entry.is_dir():
                shutil.rmtree(entry.path, ignore_errors=True)


def _without_folders(reason: str, paths, folder: str) -> str:
    """A failure reason with the server's folders left out: uploads by their names."""
    for path in paths:
        reason = reason.replace(path, os.path.basename(path))
    return reason.replace(folder + os.sep, "")
