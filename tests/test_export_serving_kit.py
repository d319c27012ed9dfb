"""The TF Serving deployment kit in export/serving: each file is what the server reads."""

import re
from pathlib import Path

import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

KIT = Path(__file__).resolve().parents[1] / "export" / "serving"
# The fields of TF Serving's BatchingParameters (session_bundle_config.proto); its Python
# module is not in the tensorflow-serving-api wheel, so the text is checked by hand.
BATCHING_FIELDS = {
    "max_batch_size",
    "batch_timeout_micros",
    "max_enqueued_batches",
    "num_batch_threads",
    "thread_pool_name",
    "allowed_batch_sizes",
    "pad_variable_length_inputs",
}


def _compose():
    return yaml.safe_load((KIT / "compose.yaml").read_text())["services"]["colorizer"]


def test_models_config_is_a_valid_model_server_config():
    config = text_format.Parse(
        (KIT / "models.config").read_text(), model_server_config_pb2.ModelServerConfig()
    )
    models = {model.name: model for model in config.model_config_list.config}
    assert set(models) == {"colorizer", "colorizer_gan"}
    for name, model in models.items():
        assert model.base_path == f"/models/{name}"
        assert model.model_platform == "tensorflow"
        assert model.model_version_policy.latest.num_versions == 1


def test_batching_parameters_are_valid():
    values = {}
    allowed = []
    for line in (KIT / "batching_parameters.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        wrapped = re.fullmatch(r"(\w+) \{ value: (\w+) \}", line)
        repeated = re.fullmatch(r"allowed_batch_sizes: (\d+)", line)
        assert wrapped or repeated, line
        if wrapped:
            assert wrapped.group(1) in BATCHING_FIELDS
            values[wrapped.group(1)] = int(wrapped.group(2))
        else:
            allowed.append(int(repeated.group(1)))
    assert allowed == sorted(allowed)
    # TF Serving refuses a config whose last allowed size is not max_batch_size.
    assert allowed[-1] == values["max_batch_size"]
    assert values["batch_timeout_micros"] <= 10_000 and values["num_batch_threads"] >= 1


def test_compose_reserves_a_gpu_and_mounts_what_the_flags_name():
    service = _compose()
    assert service["image"].endswith("-gpu}") or service["image"].endswith("-gpu")
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert {"8500:8500", "8501:8501"} <= set(service["ports"])
    mounts = {}
    for volume in service["volumes"]:
        source, target, _ = volume.rsplit(":", 2)
        mounts[target] = source
    assert mounts["/models"].endswith("../../models}")
    flags = dict(flag.removeprefix("--").split("=", 1) for flag in service["command"])
    for flag in ("model_config_file", "batching_parameters_file"):
        source = mounts[flags[flag]]
        assert (KIT / source).is_file(), source
    assert flags["enable_batching"] == "true"


def test_export_scripts_are_the_kcolor_commands():
    import subprocess
    import sys

    root = KIT.parents[1]
    for script, expected in (
        ("export_savedmodel.py", "--warmup"),
        ("export_tflite.py", "--representative"),
        ("client.py", "{rest,grpc}"),
    ):
        result = subprocess.run(
            [sys.executable, str(root / "export" / script), "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
