"""Every benchmark runs in its quick form, prints its table row and writes its JSON.

Split into groups (each one ``python -m benchmarks.run NAMES... --quick`` run) so that
parallel test workers share them out.
"""

import json

import pytest

from benchmarks import run

# benchmarks.run names -> the result rows they give, in order.
GROUPS = {
    "color-pipeline": (["color", "pipeline"], ["color", "color-xla", "pipeline"]),
    "gan": (["gan-train", "gan-generator"], ["gan-train", "gan-generator"]),
    "hypercolumn": (
        ["hc-train", "hc-head", "hc-inference"],
        ["hc-train", "hc-head", "hc-inference", "hc-bfloat16"],
    ),
    "trunks": (["trunks"], ["trunk-mobilenet_v2-1.0", "trunk-mobilenet-0.25"]),
    "video": (["video", "video-memory"], ["video-default-float32-64p", "video-memory"]),
    "colorize": (["colorize", "colorize-memory"], ["colorize", "colorize-memory"]),
    "train": (["train"], [*["train-hypercolumn"] * 3, *["train-gan"] * 3]),
    "export": (
        ["export"],
        [
            "export-savedmodel",
            *[f"tflite-{variant}" for variant in ("float32", "float16", "dynamic-int8", "int8")],
        ],
    ),
    "speed": (
        ["precision", "colorize-speed", "serving", "png"],
        [
            "precision-bfloat16",
            "precision-int8",
            "colorize-float32",
            "colorize-auto",
            "colorize-int8",
            "serving-grouped",
            "png-level",
        ],
    ),
}


def test_the_groups_cover_every_benchmark_once():
    names = [name for benchmarks, _ in GROUPS.values() for name in benchmarks]
    assert sorted(names) == sorted(run.BENCHMARKS)


@pytest.mark.parametrize("group", list(GROUPS))
def test_benchmarks_run_and_write_json(tmp_path, capsys, group):
    benchmarks, rows = GROUPS[group]
    report_path = tmp_path / "bench.json"
    arguments = ["--quick", "--data", str(tmp_path / "absent"), "--json", str(report_path)]
    assert run.main([*benchmarks, *arguments]) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in rows)
    report = json.loads(report_path.read_text())
    assert [row["name"] for row in report["results"]] == rows
    for row in report["results"]:
        # A quick run's small photo may not raise the peak memory at all.
        assert row["ratio"] >= 0 if row["name"] == "colorize-memory" else row["ratio"] > 0
    if group == "color-pipeline":
        assert report["results"][2]["work"].startswith("64 synthetic")
