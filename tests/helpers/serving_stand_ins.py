"""Stand-ins for a TF Serving server, for tests on machines where the server binary
cannot be installed.

They are NOT TF Serving. Each loads one exported SavedModel with plain TensorFlow and
answers the requests TF Serving answers for it:

* ``PredictionServiceStandIn``: the real ``tensorflow.serving.PredictionService`` gRPC
  service (stubs from ``tensorflow-serving-api``), ``Predict`` and ``GetModelMetadata``;
* ``RestStandIn``: ``POST /v1/models/NAME[/versions/N]:predict`` in the row format and
  ``GET /v1/models/NAME/metadata``, with TF Serving's documented JSON rules
  (``{"b64": ...}`` for string inputs, base64 for outputs whose name ends in ``_bytes``,
  a single output's name omitted, errors as ``{"error": ...}``).
"""

import base64
import json
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)


class _ServedModel:
    """One version folder: its signatures (functions) and SignatureDefs (protos)."""

    def __init__(self, name, version_dir):
        self.name = name
        self.version = int(Path(version_dir).name)
        self.loaded = tf.saved_model.load(str(version_dir))
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((Path(version_dir) / "saved_model.pb").read_bytes())
        self.signature_defs = proto.meta_graphs[0].signature_def
        self.requests = 0

    def run(self, signature_name, inputs):
        """{name: numpy array} -> {output name: numpy array}; ValueError when invalid."""
        signature_name = signature_name or "serving_default"
        if signature_name not in self.loaded.signatures:
            raise ValueError(
                f'Serving signature name: "{signature_name}" not found in signature def'
            )
        function = self.loaded.signatures[signature_name]
        expected = function.structured_input_signature[1]
        if set(inputs) != set(expected):
            raise ValueError(f"expected inputs {sorted(expected)}, received {sorted(inputs)}")
        tensors = {key: tf.constant(value, expected[key].dtype) for key, value in inputs.items()}
        self.requests += 1
        try:
            return {key: value.numpy() for key, value in function(**tensors).items()}
        except tf.errors.InvalidArgumentError as error:
            raise ValueError(error.message) from None


class PredictionServiceStandIn(prediction_service_pb2_grpc.PredictionServiceServicer):
    """A gRPC PredictionService stand-in serving one SavedModel version."""

    def __init__(self, name, version_dir):
        self.model = _ServedModel(name, version_dir)

    def _check_spec(self, spec, context):
        if spec.name != self.model.name:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found: {spec.name}")
        if spec.HasField("version") and spec.version.value != self.model.version:
            context.abort(grpc.StatusCode.NOT_FOUND, f"version {spec.version.value} not found")

    def Predict(self, request, context):  # noqa: N802 - the gRPC method's name
        self._check_spec(request.model_spec, context)
        inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
        try:
            results = self.model.run(request.model_spec.signature_name, inputs)
        except ValueError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.model.name
        response.model_spec.version.value = self.model.version
        for key, value in results.items():
            if not request.output_filter or key in request.output_filter:
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):  # noqa: N802 - the gRPC method's name
        self._check_spec(request.model_spec, context)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for key, value in self.model.signature_defs.items():
            signatures.signature_def[key].CopyFrom(value)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.model.name
        response.model_spec.version.value = self.model.version
        response.metadata["signature_def"].Pack(signatures)
        return response


def start_grpc_stand_in(name, version_dir, max_message_bytes=64 << 20):
    """Start the gRPC stand-in on a free local port; returns ``(server, target, servicer)``."""
    servicer = PredictionServiceStandIn(name, version_dir)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2),
        options=[
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}", servicer


def _decode_json_value(value):
    if isinstance(value, dict):
        if set(value) != {"b64"}:
            raise ValueError(f'JSON object {value} is not a {{"b64": ...}} value')
        return base64.b64decode(value["b64"])
    return value


def _column(values):
    return np.array(values, dtype=object if values and isinstance(values[0], bytes) else None)


def _encode_json_value(name, value):
    if name.endswith("_bytes"):
        return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value.tolist() if isinstance(value, np.ndarray) else value.item()


class RestStandIn:
    """A REST stand-in serving one SavedModel version; ``url`` once started."""

    _PREDICT = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
    _METADATA = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?/metadata$")

    def __init__(self, name, version_dir):
        self.model = _ServedModel(name, version_dir)
        self.bodies = []  # every request body received, for tests to inspect
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - http.server's name
                match = stand_in._METADATA.match(self.path)
                if not match or match.group(1) != stand_in.model.name:
                    return self._answer(404, {"error": f"Servable not found: {self.path}"})
                signatures = {
                    key: json_format.MessageToDict(value)
                    for key, value in stand_in.model.signature_defs.items()
                }
                return self._answer(
                    200,
                    {
                        "model_spec": {"name": stand_in.model.name},
                        "metadata": {"signature_def": {"signature_def": signatures}},
                    },
                )

            def do_POST(self):  # noqa: N802 - http.server's name
                match = stand_in._PREDICT.match(self.path)
                if not match or match.group(1) != stand_in.model.name:
                    return self._answer(404, {"error": f"Servable not found: {self.path}"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.bodies.append(body)
                try:
                    status, answer = 200, stand_in.predict(body)
                except (ValueError, KeyError, TypeError) as error:
                    status, answer = 400, {"error": str(error)}
                return self._answer(status, answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def predict(self, body):
        """The row format: ``instances`` is a list; each item an object of named inputs
        (or a bare value when the signature has one input)."""
        if "instances" not in body or "inputs" in body:
            raise ValueError("body must have 'instances' (row format), not 'inputs'")
        signature = body.get("signature_name", "serving_default")
        names = sorted(self.model.signature_defs[signature].inputs)
        columns = {name: [] for name in names}
        for instance in body["instances"]:
            if not isinstance(instance, dict) or set(instance) == {"b64"}:
                instance = {names[0]: instance}
            for name in names:
                columns[name].append(_decode_json_value(instance[name]))
        results = self.model.run(signature, {k: _column(v) for k, v in columns.items()})
        rows = len(body["instances"])
        if len(results) == 1:
            ((name, values),) = results.items()
            return {"predictions": [_encode_json_value(name, values[i]) for i in range(rows)]}
        return {
            "predictions": [
                {name: _encode_json_value(name, values[i]) for name, values in results.items()}
                for i in range(rows)
            ]
        }

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
