"""Serving clients: REST bodies in TF Serving's documented JSON format, and both clients
end to end against stand-ins that execute the exported SavedModel (tests/helpers).
No real TF Serving binary runs here (it is not a Python package)."""

import base64
import io
import json
import os

import numpy as np
import pytest
from conftest import colour_photo, encode
from helpers.serving_stand_ins import RestStandIn, start_grpc_stand_in
from PIL import Image

import kcolor
from kcolor import cli
from kcolor import jobs as batch
from kcolor.deploy import export, serving


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def _assert_same_image(result, reference):
    # Graph and eager rounding may differ by one level on a rare pixel (test_deploy_export.py).
    assert result.shape == reference.shape
    difference = np.abs(result.astype(int) - reference.astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3


def test_rest_request_body_is_the_documented_row_format():
    body = serving.rest_predict_body([b"\x89PNG-a", b"\xff\xd8-b"], seeds=[3, 4])
    assert body == {
        "signature_name": "serving_default",
        "instances": [
            {"image_bytes": {"b64": base64.b64encode(b"\x89PNG-a").decode()}, "seed": 3},
            {"image_bytes": {"b64": base64.b64encode(b"\xff\xd8-b").decode()}, "seed": 4},
        ],
    }
    json.dumps(body)  # plain JSON types only
    assert "seed" not in serving.rest_predict_body([b"x"])["instances"][0]


def test_rest_responses_parse_in_both_documented_forms():
    png = b"\x89PNG..."
    encoded = {"b64": base64.b64encode(png).decode()}
    both = serving.parse_rest_predictions({"predictions": [encoded, encoded]})
    assert both == [(png, ""), (png, "")]
    named = {
        "predictions": [
            {"colorized_png_bytes": encoded, "error": ""},
            {"colorized_png_bytes": {"b64": ""}, "error": "not an image"},
        ]
    }
    assert serving.parse_rest_predictions(named) == [(png, ""), (b"", "not an image")]
    with pytest.raises(serving.ServingError, match="Servable not found"):
        serving.parse_rest_predictions({"error": "Servable not found for request"})
    with pytest.raises(serving.ServingError, match="not base64"):
        serving.parse_rest_predictions({"predictions": ["plain text"]})


def test_rest_client_against_the_stand_in(exported):
    model, folder = exported["hypercolumn"]
    photos = [colour_photo(30, 40, 1), colour_photo(50, 26, 2)]
    with RestStandIn("hypercolumn", folder) as server:
        client = serving.RestClient(server.url, "hypercolumn")
        assert client.signature_inputs() == ["image_bytes"]
        results = client.colorize([encode(photo, "PNG") for photo in photos])
        for result, photo in zip(results, photos, strict=True):
            _assert_same_image(
                _decode(result),
                np.asarray(kcolor.colorize(photo, model, size=32, precision="float32")),
            )
        # The body that went over the wire is exactly the documented request.
        assert server.bodies[-1]["instances"][1]["image_bytes"] == {
            "b64": base64.b64encode(encode(photos[1], "PNG")).decode()
        }
        # An undecodable photo fails alone: the request itself succeeds.
        (png, error), _ = client.colorize_each([b"not an image", encode(photos[0], "PNG")])
        assert png == b"" and error == "not a JPEG, PNG, GIF, BMP or WebP image"
        with pytest.raises(serving.ServingError, match="photo 0 of the request"):
            client.colorize([b"not an image"])
        with pytest.raises(serving.ServingError, match="HTTP 404"):
            serving.RestClient(server.url, "no-such-model").colorize([b"x"])
    with pytest.raises(serving.ServingError, match="cannot connect"):
        serving.RestClient(server.url, "hypercolumn", timeout=5).colorize([b"x"])


def test_grpc_client_against_the_stand_in_with_full_size_photos(exported):
    model, folder = exported["hypercolumn"]
    # A noisy 1600x1200 photo: its PNG answer is over gRPC's default 4 MiB limit.
    photo = np.random.default_rng(0).integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
    server, target, servicer = start_grpc_stand_in("hypercolumn", folder)
    try:
        with serving.GrpcClient(target, "hypercolumn", version=1) as client:
            assert client.signature_inputs() == ["image_bytes"]
            (result,) = client.colorize([encode(photo, "PNG")])
            assert len(result) > 4 << 20
            _assert_same_image(
                _decode(result),
                np.asarray(kcolor.colorize(photo, model, size=32, precision="float32")),
            )
            (png, error), _ = client.colorize_each([b"not an image", encode(photo, "PNG")])
            assert png == b"" and error == "not a JPEG, PNG, GIF, BMP or WebP image"
        with serving.GrpcClient(target, "hypercolumn", version=5) as client:
            with pytest.raises(serving.ServingError, match="NOT_FOUND"):
                client.colorize([encode(photo[:8, :8], "PNG")])
        with serving.GrpcClient(target, "hypercolumn", max_message_bytes=4 << 20) as client:
            with pytest.raises(serving.ServingError, match="RESOURCE_EXHAUSTED"):
                client.colorize([encode(photo, "PNG")])
    finally:
        server.stop(None)


def test_warmup_requests_replay_through_the_grpc_stand_in(exported):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2, prediction_service_pb2_grpc

    folder = exported["gan"][1]
    server, target, servicer = start_grpc_stand_in("gan", folder)
    try:
        with serving.GrpcClient(target, "gan") as client:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(client.channel)
            path = str(folder / "assets.extra" / export.WARMUP_FILE)
            for record in tf.data.TFRecordDataset(path):
                log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
                response = stub.Predict(log.predict_log.request, timeout=60)
                assert len(response.outputs["colorized_png_bytes"].string_val) == 1
        assert servicer.model.requests == 3
    finally:
        server.stop(None)


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_client_command_colorizes_a_folder_with_the_rules_of_colorize(
    exported, mixed_folder, tmp_path, protocol, capsys
):
    model, folder = exported["gan"]
    photos, broken = mixed_folder
    # A photo stored sideways: the client sends it upright, as kcolor colorize reads it.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(colour_photo(20, 36, 11)).save(photos / "turned.jpg", exif=exif, quality=95)
    output = tmp_path / "out"
    (output / "sub dir").mkdir(parents=True)
    (output / "sub dir" / "b_sample1.png").write_bytes(b"keep me")
    if protocol == "rest":
        stand_in = RestStandIn("gan", folder).__enter__()
        server_args, stop = ["--server", stand_in.url], lambda: stand_in.__exit__()
    else:
        grpc_server, target, _ = start_grpc_stand_in("gan", folder)
        server_args, stop = ["--server", target], lambda: grpc_server.stop(None)
    try:
        status = cli.main(
            [
                "client",
                protocol,
                str(photos),
                "-o",
                str(output),
                "--model-name",
                "gan",
                "--samples",
                "2",
                "--seed",
                "7",
                "--batch-size",
                "3",
                *server_args,
            ]
        )
    finally:
        stop()
    err = capsys.readouterr().err
    assert status == 1
    for name in broken:
        assert f"failed {photos / name}" in err
    assert "b_sample1.png exists" in err
    assert (output / "sub dir" / "b_sample1.png").read_bytes() == b"keep me"
    first, second = (_decode((output / f"turned_sample{k}.png").read_bytes()) for k in (1, 2))
    # Colouring k of --seed 7 is the one of seed 7 + k - 1, as kcolor colorize gives it.
    expected = kcolor.colorize(
        photos / "turned.jpg", model, size=32, samples=2, seed=7, precision="float32"
    )
    _assert_same_image(first, np.asarray(expected[0]))
    _assert_same_image(second, np.asarray(expected[1]))
    assert first.shape == (36, 20, 3)  # upright
    assert np.abs(first.astype(int) - second.astype(int)).max() > 0
    assert (output / "a_sample2.png").is_file() and (output / "h_sample1.png").is_file()
    assert not list(output.rglob(".kcolor-*"))


def test_client_refuses_samples_for_a_single_colouring_model(exported, tmp_path):
    folder = exported["hypercolumn"][1]
    photo = tmp_path / "p.png"
    photo.write_bytes(encode(colour_photo(20, 20, 1), "PNG"))
    with RestStandIn("hypercolumn", folder) as server:
        status = cli.main(
            [
                "client",
                "rest",
                str(photo),
                "-o",
                str(tmp_path / "out"),
                "--server",
                server.url,
                "--model-name",
                "hypercolumn",
                "--samples",
                "2",
            ]
        )
    assert status == 1


def test_photos_the_server_refuses_fail_alone(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(colour_photo(20, 24, ord(name))).save(photos / f"{name}.png")
    png = (photos / "a.png").read_bytes()

    class RefusesTheSecond:
        def signature_inputs(self):
            return ["image_bytes"]

        def colorize_each(self, images, seeds=None):
            return [(b"", "too large") if i == 1 else (png, "") for i in range(len(images))]

    jobs, _ = batch.plan_jobs([str(photos)], tmp_path / "out")
    report = batch.colorize_served(RefusesTheSecond(), jobs, batch_size=3)
    assert report.failed == [(str(photos / "b.png"), "the server did not colorize it: too large")]
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "c.png"]
