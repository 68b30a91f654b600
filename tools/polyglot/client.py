#!/usr/bin/env python3
"""A Python client of our services, with stubs generated from protos/ at run time.

It proves that a client in another language needs nothing but our .proto files: it generates its
stubs into a temporary folder (never committed), then calls grpc.health.v1 Check on each service,
GeneratorService.GetModelInfo and Synthesize, and the Open Inference Protocol's ModelMetadata and
ModelInfer, and prints what it sent and got as JSON on stdout. The end-to-end tests
(tests/GrpcExplain.EndToEnd.Tests) run it against `grpcexplain serve all` and compare its numbers
with C#'s.

    client.py --generator 127.0.0.1:50051 --classifier 127.0.0.1:50052 [--coordinator 127.0.0.1:50050] [--model tiny_cnn]
    client.py --check     # can this interpreter run the client? exit 0, or 3 with the reason

Needs grpcio and a protoc that knows proto3 `optional` (3.15 or later) with the gRPC Python plugin:
Debian's python3-grpcio, protobuf-compiler and protobuf-compiler-grpc (run with /usr/bin/python3),
or PyPI's grpcio-tools. Debian's python3-grpc-tools bundles protoc 3.5, which rejects `optional`.
Exit codes: 0 done, 1 a call failed, 2 a wrong command line, 3 tools missing.
"""

import argparse
import base64
import importlib
import json
import math
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTOS = [
    (ROOT / "protos", ["grpcexplain/v1/common.proto", "grpcexplain/v1/generator.proto", "inference/open_inference_grpc.proto"]),
    (Path(__file__).resolve().parent / "protos", ["grpc_health/v1/health.proto"]),
]
GENERATOR_SERVICE = "grpcexplain.v1.GeneratorService"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 30


class MissingTools(Exception):
    """This interpreter or machine lacks what the client needs (exit code 3)."""


def protoc_version(command):
    out = subprocess.run(command + ["--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"libprotoc (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_codegen():
    """The protoc command line that writes Python messages and gRPC stubs, and its name for the summary."""
    problems = []
    try:
        import grpc_tools  # noqa: F401  (only to know it is there)
        command = [sys.executable, "-m", "grpc_tools.protoc"]
        version = protoc_version(command)
        if version and version >= (3, 15):
            return command, f"grpc_tools.protoc (libprotoc {version[0]}.{version[1]})"
        problems.append(f"grpc_tools bundles libprotoc {version[0]}.{version[1]}, older than 3.15, which rejects proto3 optional fields"
                        if version else "grpc_tools.protoc does not run")
    except ImportError:
        problems.append("no grpc_tools module")
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if protoc and plugin:
        version = protoc_version([protoc])
        if version and version >= (3, 15):
            return [protoc, f"--plugin=protoc-gen-grpc_python={plugin}"], f"protoc {version[0]}.{version[1]} + grpc_python_plugin"
        problems.append(f"{protoc} is older than 3.15")
    else:
        problems.append("no protoc with grpc_python_plugin on PATH")
    raise MissingTools("; ".join(problems) + ". Install Debian's python3-grpcio protobuf-compiler protobuf-compiler-grpc "
                       "(and run /usr/bin/python3), or pip install grpcio grpcio-tools.")


def check_environment():
    try:
        import grpc
        import google.protobuf
    except ImportError as e:
        raise MissingTools(f"{sys.executable} cannot import {e.name}: install Debian's python3-grpcio "
                           "(or pip install grpcio protobuf)") from e
    _, codegen = find_codegen()
    return {"python": sys.executable, "grpcio": grpc.__version__, "protobuf": google.protobuf.__version__, "codegen": codegen}


def generate_stubs(into):
    command, _ = find_codegen()
    for include, files in PROTOS:
        run = subprocess.run(command + [f"-I{include}", f"--python_out={into}", f"--grpc_python_out={into}"] + files,
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"generating stubs from {include} failed: {run.stderr.strip()}")
    sys.path.insert(0, str(into))
    names = ["grpcexplain.v1.common_pb2", "grpcexplain.v1.generator_pb2", "grpcexplain.v1.generator_pb2_grpc", "inference.open_inference_grpc_pb2",
             "inference.open_inference_grpc_pb2_grpc", "grpc_health.v1.health_pb2", "grpc_health.v1.health_pb2_grpc"]
    return {name.rsplit(".", 1)[1]: importlib.import_module(name) for name in names}


def floats_to_bytes(values):
    return struct.pack(f"<{len(values)}f", *values)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def target(address):
    """host:port for grpc, from host:port or http://host:port."""
    if address.startswith("https://"):
        raise SystemExit(f"client.py: {address}: this client speaks plain HTTP/2 only")
    return address.removeprefix("http://").rstrip("/")


def health(stubs, channel, service):
    response = stubs["health_pb2_grpc"].HealthStub(channel).Check(stubs["health_pb2"].HealthCheckRequest(service=service), timeout=TIMEOUT_S)
    return stubs["health_pb2"].HealthCheckResponse.ServingStatus.Name(response.status)


def call_generator(stubs, channel, samples):
    pb, grpc_stub = stubs["generator_pb2"], stubs["generator_pb2_grpc"].GeneratorServiceStub(channel)
    info = grpc_stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=TIMEOUT_S)
    # One w per sample, [N, w_dim]: values any client could make, exactly representable in float32 after packing.
    ws = [1.5 * math.sin(0.37 * k + 0.1) for k in range(samples * info.w_dim)]
    ws_bytes = floats_to_bytes(ws)
    request = pb.SynthesizeRequest(ws=stubs["common_pb2"].Tensor(shape=[samples, info.w_dim], data=ws_bytes),
                                   noise_mode=pb.NOISE_MODE_CONST, include_tensor=True, include_png=True)
    response = grpc_stub.Synthesize(request, timeout=TIMEOUT_S)
    shape = list(response.images.shape)
    expected = [samples, info.image_channels, info.image_resolution_pixels, info.image_resolution_pixels]
    if shape != expected or len(response.images.data) != 4 * math.prod(expected):
        raise RuntimeError(f"Synthesize answered images of shape {shape} with {len(response.images.data)} bytes; expected {expected}")
    if len(response.png_images) != samples or not all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in response.png_images):
        raise RuntimeError(f"Synthesize answered {len(response.png_images)} PNGs for {samples} samples, or something that is not a PNG")
    pixels = struct.unpack(f"<{math.prod(shape)}f", response.images.data)
    return {
        "model_info": {"z_dim": info.z_dim, "c_dim": info.c_dim, "w_dim": info.w_dim, "num_ws": info.num_ws,
                       "image_resolution_pixels": info.image_resolution_pixels, "image_channels": info.image_channels,
                       "weights_sha256": info.weights_sha256, "backend": info.backend, "max_batch_size": info.max_batch_size},
        "synthesize": {"ws_shape": [samples, info.w_dim], "ws": b64(ws_bytes), "images_shape": shape, "images": b64(response.images.data),
                       "pixel_min": min(pixels), "pixel_max": max(pixels), "png_count": len(response.png_images)},
    }


def tensor_metadata(t):
    return {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}


def call_classifier(stubs, channel, model, samples):
    pb, grpc_stub = stubs["open_inference_grpc_pb2"], stubs["open_inference_grpc_pb2_grpc"].GRPCInferenceServiceStub(channel)
    metadata = grpc_stub.ModelMetadata(pb.ModelMetadataRequest(name=model), timeout=TIMEOUT_S)
    summary = {"metadata": {"name": metadata.name, "platform": metadata.platform, "versions": list(metadata.versions),
                            "inputs": [tensor_metadata(t) for t in metadata.inputs], "outputs": [tensor_metadata(t) for t in metadata.outputs]}}
    first = metadata.inputs[0]
    if first.datatype != "FP32":
        raise RuntimeError(f"model {model}'s input {first.name} is {first.datatype}; this client sends FP32 only")
    shape = [samples if d < 0 else d for d in first.shape]
    values = [((k * 37) % 256) / 255.0 * 2.0 - 1.0 for k in range(math.prod(shape))]
    request = pb.ModelInferRequest(model_name=model, id="polyglot",
                                   inputs=[pb.ModelInferRequest.InferInputTensor(name=first.name, datatype="FP32", shape=shape)],
                                   raw_input_contents=[floats_to_bytes(values)])
    response = grpc_stub.ModelInfer(request, timeout=TIMEOUT_S)
    outputs = {}
    for i, out in enumerate(response.outputs):
        data = response.raw_output_contents[i] if response.raw_output_contents else floats_to_bytes(out.contents.fp32_contents)
        outputs[out.name] = {"datatype": out.datatype, "shape": list(out.shape), "data": b64(data)}
    summary["infer"] = {"model_name": response.model_name, "model_version": response.model_version, "id": response.id,
                        "input_name": first.name, "input_shape": shape, "input": b64(floats_to_bytes(values)), "outputs": outputs}
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", help="generator service, host:port")
    parser.add_argument("--classifier", help="Open Inference Protocol server, host:port")
    parser.add_argument("--coordinator", help="coordinator, host:port (health only, for now)")
    parser.add_argument("--model", default="tiny_cnn", help="model to ask the classifier about")
    parser.add_argument("--samples", type=int, default=2, help="batch size of Synthesize and ModelInfer")
    parser.add_argument("--check", action="store_true", help="only say whether this interpreter can run the client")
    args = parser.parse_args()
    try:
        environment = check_environment()
    except MissingTools as e:
        print(f"client.py: {e}", file=sys.stderr)
        return 3
    if args.check:
        print(json.dumps(environment))
        return 0
    if not args.generator or not args.classifier:
        parser.error("--generator and --classifier are required (or --check)")

    import grpc
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
    with tempfile.TemporaryDirectory(prefix="grpcexplain-polyglot-") as stubs_dir:
        stubs = generate_stubs(Path(stubs_dir))
        summary = {"environment": environment, "health": {}}
        addresses = {"generator": args.generator, "classifier": args.classifier, "coordinator": args.coordinator}
        channels = {name: grpc.insecure_channel(target(a), options=options) for name, a in addresses.items() if a}
        try:
            summary["health"]["generator"] = health(stubs, channels["generator"], GENERATOR_SERVICE)
            summary["health"]["classifier"] = health(stubs, channels["classifier"], "")
            if "coordinator" in channels:
                summary["health"]["coordinator"] = health(stubs, channels["coordinator"], "")
            summary["generator"] = call_generator(stubs, channels["generator"], args.samples)
            summary["classifier"] = call_classifier(stubs, channels["classifier"], args.model, args.samples)
        except grpc.RpcError as e:
            print(f"client.py: a call failed: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
        finally:
            for channel in channels.values():
                channel.close()
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
