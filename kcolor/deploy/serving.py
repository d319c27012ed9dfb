"""Clients for a kcolor SavedModel behind TF Serving: REST and gRPC.

Both send encoded photos to the ``serving_default`` signature (see
:mod:`kcolor.deploy.export`) and get PNG bytes of the colorized photos at their own size:

* :class:`RestClient`: ``POST /v1/models/NAME[/versions/N]:predict`` with TF Serving's
  row format, ``{"instances": [{"image_bytes": {"b64": ...}, "seed": 1}]}``; the answer is
  ``{"predictions": [{"b64": ...}]}`` (the output's ``_bytes`` suffix makes the server
  base64-encode it). Only the standard library is used.
* :class:`GrpcClient`: ``tensorflow.serving.PredictionService/Predict`` through
  ``tensorflow-serving-api``, with the message size limits raised so full-size PNGs fit
  (gRPC's default is 4 MiB; TF Serving itself accepts up to 2 GiB).

:func:`kcolor.jobs.colorize_served` colorizes files and folders through either client
with the rules of ``kcolor colorize``.
"""

import base64
import json
import urllib.error
import urllib.request

from kcolor.deploy.export import ERROR_OUTPUT, IMAGE_BYTES, PNG_OUTPUT, SEED
from kcolor.errors import ServingError

# Largest gRPC message the client sends or accepts: a few full-size PNGs.
DEFAULT_MAX_MESSAGE_BYTES = 256 << 20


def rest_predict_body(images, seeds=None, signature: str = "serving_default") -> dict:
    """The JSON body of a REST predict request (TF Serving's row format).

    Args:
        images: encoded photos (bytes).
        seeds: one int per photo for a GAN model, or None.
    """
    instances = []
    for index, encoded in enumerate(images):
        instance = {IMAGE_BYTES: {"b64": base64.b64encode(encoded).decode("ascii")}}
        if seeds is not None:
            instance[SEED] = int(seeds[index])
        instances.append(instance)
    return {"signature_name": signature, "instances": instances}


def parse_rest_predictions(body: dict) -> list[tuple[bytes, str]]:
    """``(PNG bytes, error)`` of each photo from a REST predict response.

    A signature with one output is answered ``{"predictions": [{"b64": ...}, ...]}``;
    with several, each prediction is an object keyed by output name. ``error`` is empty
    for a colorized photo (and for models exported without the ``error`` output).

    Raises:
        ServingError: the body holds an ``error`` (the whole request failed) or no PNG
            output.
    """
    if "error" in body:
        raise ServingError(str(body["error"]))
    if "predictions" not in body:
        raise ServingError(f"response has no predictions: {sorted(body)}")
    results = []
    for prediction in body["predictions"]:
        error = ""
        if isinstance(prediction, dict) and PNG_OUTPUT in prediction:
            error = str(prediction.get(ERROR_OUTPUT, ""))
            prediction = prediction[PNG_OUTPUT]
        if not (isinstance(prediction, dict) and set(prediction) == {"b64"}):
            raise ServingError(f"prediction is not base64 bytes: {str(prediction)[:80]}")
        results.append((base64.b64decode(prediction["b64"]), error))
    return results


def _pngs_or_raise(results) -> list[bytes]:
    failed = [(index, error) for index, (_, error) in enumerate(results) if error]
    if failed:
        index, error = failed[0]
        raise ServingError(f"photo {index} of the request was not colorized: {error}")
    return [png for png, _ in results]


class RestClient:
    """TF Serving's REST API (default port 8501).

    Args:
        url: the server, e.g. ``http://localhost:8501``.
        model: the served model's name; version: a version number or None (latest).
        timeout: seconds per request.
    """

    def __init__(self, url="http://localhost:8501", model="colorizer", version=None, timeout=120):
        self.url = url.rstrip("/")
        self.model = model
        self.version = version
        self.timeout = timeout

    def _model_path(self) -> str:
        path = f"{self.url}/v1/models/{self.model}"
        return path + (f"/versions/{self.version}" if self.version is not None else "")

    def _call(self, url, body=None) -> dict:
        request = urllib.request.Request(
            url,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except json.JSONDecodeError:
                message = text
            raise ServingError(f"{url}: HTTP {error.code}: {message}") from None
        except urllib.error.URLError as error:
            raise ServingError(f"{url}: cannot connect ({error.reason})") from None

    def signature_inputs(self) -> list[str]:
        """Input names of ``serving_default`` (``["image_bytes", "seed"]`` for a GAN)."""
        body = self._call(self._model_path() + "/metadata")
        signatures = body["metadata"]["signature_def"]["signature_def"]
        return sorted(signatures["serving_default"]["inputs"])

    def colorize_each(self, images, seeds=None) -> list[tuple[bytes, str]]:
        """``(PNG bytes, error)`` of each of ``images`` (encoded photos), in order: the
        error is empty for a colorized photo, the reason (and the PNG empty) otherwise."""
        body = self._call(self._model_path() + ":predict", rest_predict_body(images, seeds))
        results = parse_rest_predictions(body)
        if len(results) != len(images):
            raise ServingError(f"sent {len(images)} images, received {len(results)}")
        return results

    def colorize(self, images, seeds=None) -> list[bytes]:
        """PNG bytes of the colorized ``images``, in order; raises :class:`ServingError`
        if any photo was not colorized."""
        return _pngs_or_raise(self.colorize_each(images, seeds))


class GrpcClient:
    """TF Serving's gRPC PredictionService (default port 8500).

    Args:
        target: ``host:port``.
        model: the served model's name; version: a version number or None (latest).
        timeout: seconds per request.
        max_message_bytes: the largest message sent or received.
    """

    def __init__(
        self,
        target="localhost:8500",
        model="colorizer",
        version=None,
        timeout=120,
        max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
    ):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.model = model
        self.version = version
        self.timeout = timeout
        self.channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
            ],
        )
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _spec(self, message, signature="serving_default"):
        message.model_spec.name = self.model
        message.model_spec.signature_name = signature
        if self.version is not None:
            message.model_spec.version.value = int(self.version)

    def _rpc(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(f"{error.code().name}: {error.details()}") from None

    def signature_inputs(self) -> list[str]:
        """Input names of ``serving_default`` (``["image_bytes", "seed"]`` for a GAN)."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(request)
        response = self._rpc(self.stub.GetModelMetadata, request)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return sorted(signatures.signature_def["serving_default"].inputs)

    def colorize_each(self, images, seeds=None) -> list[tuple[bytes, str]]:
        """``(PNG bytes, error)`` of each of ``images`` (encoded photos), in order: the
        error is empty for a colorized photo, the reason (and the PNG empty) otherwise."""
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._spec(request)
        request.inputs[IMAGE_BYTES].CopyFrom(tf.make_tensor_proto(list(images), tf.string))
        if seeds is not None:
            request.inputs[SEED].CopyFrom(tf.make_tensor_proto(list(seeds), tf.int64))
        response = self._rpc(self.stub.Predict, request)
        pngs = list(response.outputs[PNG_OUTPUT].string_val)
        if len(pngs) != len(images):
            raise ServingError(f"sent {len(images)} images, received {len(pngs)}")
        # Models exported without the error output colorize every photo or fail.
        errors = [
            error.decode(errors="replace") for error in response.outputs[ERROR_OUTPUT].string_val
        ]
        return list(zip(pngs, errors or [""] * len(pngs), strict=True))

    def colorize(self, images, seeds=None) -> list[bytes]:
        """PNG bytes of the colorized ``images``, in order; raises :class:`ServingError`
        if any photo was not colorized."""
        return _pngs_or_raise(self.colorize_each(images, seeds))
