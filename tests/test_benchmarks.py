import json

from benchmarks import run


def test_benchmarks_run_and_write_json(tmp_path, capsys):
    report_path = tmp_path / "bench.json"
    assert (
        run.main(["--quick", "--data", str(tmp_path / "absent"), "--json", str(report_path)]) == 0
    )
    table = capsys.readouterr().out
    assert "color-xla" in table and "pipeline" in table and "gan-train" in table
    report = json.loads(report_path.read_text())
    names = [row["name"] for row in report["results"]]
    assert names == [
        "color",
        "color-xla",
        "pipeline",
        "gan-train",
        "gan-generator",
        "hc-train",
        "hc-head",
        "hc-inference",
        "hc-bfloat16",
        "colorize",
        "colorize-memory",
        *["train-hypercolumn"] * 3,
        *["train-gan"] * 3,
        "export-savedmodel",
        *[f"tflite-{variant}" for variant in ("float32", "float16", "dynamic-int8", "int8")],
        "precision-bfloat16",
        "precision-int8",
        "colorize-float32",
        "colorize-auto",
        "colorize-int8",
        "serving-grouped",
        "png-level",
    ]
    for row in report["results"]:
        # A quick run's small photo may not raise the peak memory at all.
        assert row["ratio"] >= 0 if row["name"] == "colorize-memory" else row["ratio"] > 0
    assert report["results"][2]["work"].startswith("64 synthetic")
