"""The pipelined batch runner: same results as one photo at a time, bounded memory."""

import os

import numpy as np
import pytest
from PIL import Image

from kcolor import inference
from kcolor import jobs as batch
from tests.conftest import colour_photo


class RecordingColorizer:
    """A float32 colorizer that records, at each network call, which photos had been
    decoded and which outputs existed."""

    def __init__(self, model, jobs):
        self.inner = inference.Colorizer(model, 32)
        self.diverse = self.inner.diverse
        self.jobs = jobs
        self.decoded = 0
        self.calls = []

    def model_input(self, rgb):
        self.decoded += 1
        return self.inner.model_input(rgb)

    def predict_ab(self, l_norm, samples=1, seed=None):
        written = sum(all(os.path.exists(path) for path in job.outputs) for job in self.jobs)
        self.calls.append({"decoded": self.decoded, "written": written, "photos": len(l_norm)})
        return self.inner.predict_ab(l_norm, samples, seed)


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    sizes = [(40, 56), (56, 40), (40, 56), (33, 47), (40, 56), (61, 30)]
    for index, (height, width) in enumerate(sizes):
        Image.fromarray(colour_photo(height, width, seed=index)).save(folder / f"{index}.png")
    (folder / "3b_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return folder


def _outputs(report):
    return {os.path.basename(path): np.asarray(Image.open(path)) for path in report.written}


@pytest.mark.parametrize("batch_size", [1, 3])
def test_pipelined_outputs_equal_one_photo_at_a_time(
    tiny_model_files, photo_folder, tmp_path, batch_size
):
    model = inference.load_model(tiny_model_files["hypercolumn"])
    colorizer = inference.Colorizer(model, 32)
    jobs, problems = batch.plan_jobs([str(photo_folder)], tmp_path / "out")
    assert not problems
    report = batch.colorize_files(jobs, colorizer, batch_size=batch_size, progress=False)
    # Photos of one processing size go together, so the order follows the groups.
    written = sorted(os.path.basename(path) for path in report.written)
    assert written == [f"{i}.png" for i in range(6)]
    assert [os.path.basename(name) for name, _ in report.failed] == ["3b_broken.png"]
    for name, result in _outputs(report).items():
        rgb = inference.read_image(photo_folder / name)
        (expected,) = inference.colorize_rgb(rgb, colorizer)
        np.testing.assert_array_equal(result, expected)


def test_photos_over_the_pixel_budget_go_through_alone(tiny_model_files, photo_folder, tmp_path):
    model = inference.load_model(tiny_model_files["hypercolumn"])
    jobs, _ = batch.plan_jobs([str(photo_folder)], tmp_path / "out")
    colorizer = RecordingColorizer(model, jobs)
    # Every photo is over a budget of one pixel: each is read only once the one before
    # it is written, so the pipeline holds one photo at a time.
    report = batch.colorize_files(jobs, colorizer, progress=False, pixels_in_flight=1)
    assert len(report.written) == 6
    for index, call in enumerate(colorizer.calls):
        assert call == {"decoded": index + 1, "written": index, "photos": 1}


def test_the_pipeline_reads_ahead_within_its_budget(tiny_model_files, photo_folder, tmp_path):
    model = inference.load_model(tiny_model_files["hypercolumn"])
    jobs, _ = batch.plan_jobs([str(photo_folder)], tmp_path / "out")
    colorizer = RecordingColorizer(model, jobs)
    report = batch.colorize_files(jobs, colorizer, progress=False)
    assert len(report.written) == 6
    # At most two photos are read ahead of the network and two wait to be written.
    for index, call in enumerate(colorizer.calls):
        assert index + 1 <= call["decoded"] <= index + 1 + 2
        assert call["written"] >= index - 2


def test_a_served_run_leaves_videos_to_the_local_path(tmp_path):
    class NoServer:
        def signature_inputs(self):
            return {"image"}

        def colorize_each(self, images, seeds):
            raise AssertionError("nothing should be sent")

    job = batch.Job(str(tmp_path / "film.mp4"), (str(tmp_path / "out" / "film.mp4"),))
    report = batch.colorize_served(NoServer(), [job], progress=False)
    assert report.failed == [
        (job.source, "a video is colorized on this computer (kcolor colorize), not by a server")
    ]


def _pipeline(colorizer, jobs, **settings):
    run = batch.JobRun(len(jobs), force=False, progress=False)
    return batch.PhotoPipeline(colorizer, run, **settings), run


def test_the_reading_stage_admits_within_the_pixel_budget_and_reports_bad_files(
    tiny_model_files, photo_folder, tmp_path
):
    colorizer = inference.Colorizer(inference.load_model(tiny_model_files["hypercolumn"]), 32)
    jobs, _ = batch.plan_jobs([str(photo_folder)], tmp_path / "out")
    broken = next(job for job in jobs if "broken" in job.source)
    # 40x56 photos are 2,240 pixels: a budget of 3,000 holds one at a time...
    pipeline, run = _pipeline(colorizer, jobs, batch_size=4, pixels_in_flight=3_000)
    pipeline.waiting.extend(jobs)
    pipeline.admit()
    assert len(pipeline.reads) == 1 and pipeline.held == 40 * 56
    # ... and one over the budget is admitted alone once nothing else is held.
    pipeline, _ = _pipeline(colorizer, jobs, batch_size=4, pixels_in_flight=100)
    pipeline.waiting.extend(jobs)
    pipeline.admit()
    assert len(pipeline.reads) == 1
    pipeline.reader.shutdown()
    # A file that is not a photo fails when its read is taken, and releases its pixels.
    pipeline, run = _pipeline(colorizer, [broken])
    pipeline.waiting.append(broken)
    pipeline.admit()
    pipeline.take_decoded()
    assert pipeline.held == 0 and run.report.failed[0][0] == broken.source
    pipeline.reader.shutdown()


def test_the_network_stage_groups_photos_by_processing_shape(
    tiny_model_files, photo_folder, tmp_path
):
    model = inference.load_model(tiny_model_files["hypercolumn"])
    jobs, _ = batch.plan_jobs([str(photo_folder)], tmp_path / "out")
    first_three = jobs[:3]  # 0.png 40x56, 1.png 56x40, 2.png 40x56
    colorizer = RecordingColorizer(model, first_three)
    pipeline, run = _pipeline(colorizer, first_three, batch_size=3)
    pipeline.waiting.extend(first_three)
    for _ in first_three:
        pipeline.admit()
        pipeline.take_decoded()
    # The third photo filled the batch: one network call per processing shape.
    assert [call["photos"] for call in colorizer.calls] == [2, 1]
    assert pipeline.pending == {} and len(pipeline.writes) == 3
    while pipeline.writes:
        pipeline.finish_oldest_write()
    assert len(run.report.written) == 3 and pipeline.held == 0
    pipeline.reader.shutdown()
    pipeline.writer.shutdown()
