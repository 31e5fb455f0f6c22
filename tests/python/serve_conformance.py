"""`benn serve` against the stock KServe V2 / Open Inference Protocol client.

Usage: serve_conformance.py URL MODEL IMAGES EXPECTED
  URL       host:port of a running `benn serve`
  MODEL     the model name it serves
  IMAGES    an IDX image file (uncompressed) of the model's size
  EXPECTED  `benn predict` output on the first images: index, class name, confidence per line

Uses tritonclient.http.InferenceServerClient only (nothing of benn), and checks liveness,
readiness, metadata, and that `infer` gives `benn predict`'s classes with binary data on
and off, for inputs and outputs. Prints "serve conformance: all checks passed" on success.
"""
import struct
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

url, model, images_path, expected_path = sys.argv[1:5]
failures = 0


def check(condition, what):
    global failures
    if condition:
        print("ok:", what)
    else:
        failures += 1
        print("FAIL:", what)


raw = open(images_path, "rb").read()
_, n, h, w = struct.unpack(">IIII", raw[:16])
expected_rows = [line.split("\t") for line in open(expected_path).read().splitlines() if "\t" in line]
expected = [row[1] for row in expected_rows]
confidence = [float(row[2]) for row in expected_rows]
count = len(expected)
images = np.frombuffer(raw[16:16 + count * h * w], dtype=np.uint8).reshape(count, h, w, 1)

client = httpclient.InferenceServerClient(url=url)
check(client.is_server_live(), "is_server_live")
check(client.is_server_ready(), "is_server_ready")
check(client.is_model_ready(model), "is_model_ready")
check(client.is_model_ready(model, model_version="1"), "is_model_ready version 1")
check(not client.is_model_ready(model, model_version="2"), "not is_model_ready version 2")
check(not client.is_model_ready("no-such-model"), "not is_model_ready of another model")
server = client.get_server_metadata()
check("binary_tensor_data" in server.get("extensions", []), f"server metadata lists binary_tensor_data: {server}")
meta = client.get_model_metadata(model)
check(meta["name"] == model and meta["versions"] == ["1"], f"model metadata name and versions: {meta}")
check(client.get_model_metadata(model, model_version="1") == meta, "model metadata of version 1 is the same")
image_input = meta["inputs"][0]
check(image_input["name"] == "images" and image_input["datatype"] == "UINT8" and image_input["shape"] == [-1, h, w, 1],
      f"model metadata input: {image_input}")
classes = meta["parameters"]["classes"]


def names_of(result):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in result.as_numpy("class_names").reshape(-1)]


def check_result(result, label):
    names = names_of(result)
    check(names == expected, f"{label}: class_names {names} == benn predict {expected}")
    indices = result.as_numpy("classes")
    check(indices is not None and indices.dtype == np.int64 and [classes[k] for k in indices.reshape(-1)] == expected,
          f"{label}: classes INT64 agree")
    probabilities = result.as_numpy("probabilities")
    check(probabilities is not None and probabilities.dtype == np.float32 and probabilities.shape == (count, len(classes)),
          f"{label}: probabilities FP32 [{count}, {len(classes)}]")
    if probabilities is not None:
        picked = [float(probabilities[i, classes.index(expected[i])]) for i in range(count)]
        check(all(abs(p - c) < 1e-4 for p, c in zip(picked, confidence)), f"{label}: confidences {picked} ~ {confidence}")


for binary_in in (False, True):
    for binary_out in (False, True):
        label = f"infer binary input {binary_in}, binary output {binary_out}"
        inp = httpclient.InferInput("images", list(images.shape), "UINT8")
        inp.set_data_from_numpy(images, binary_data=binary_in)
        outputs = [httpclient.InferRequestedOutput(name, binary_data=binary_out) for name in ("classes", "class_names", "probabilities")]
        for version in ("", "1"):
            result = client.infer(model, [inp], model_version=version, outputs=outputs, request_id="r-1")
            check(result.get_response()["id"] == "r-1", f"{label}, version '{version}': id echoed")
            check_result(result, f"{label}, version '{version}'")

# No outputs named: the client asks for every output in binary (binary_data_output).
inp = httpclient.InferInput("images", list(images.shape), "UINT8")
inp.set_data_from_numpy(images)
check_result(client.infer(model, [inp]), "infer with default outputs")

# FP32 pixel values, flat [N, H*W], as binary data.
flat = httpclient.InferInput("images", [count, h * w], "FP32")
flat.set_data_from_numpy(images.reshape(count, h * w).astype(np.float32), binary_data=True)
check_result(client.infer(model, [flat]), "infer FP32 [N, H*W]")

wrong_name = httpclient.InferInput("pixels", list(images.shape), "UINT8")
wrong_name.set_data_from_numpy(images)

# Refusals come back as the client's exception with the server's message.
for call, phrase in [
    (lambda: client.infer("no-such-model", [inp]), "unknown model"),
    (lambda: client.infer(model, [inp], model_version="2"), "unknown version '2'"),
    (lambda: client.infer(model, [wrong_name]), "unknown input 'pixels'"),
]:
    try:
        call()
        check(False, f"refused: {phrase}")
    except InferenceServerException as e:
        check(phrase in str(e), f"refused with '{phrase}': {e}")

if failures:
    print(f"serve conformance: {failures} checks failed")
    sys.exit(1)
print("serve conformance: all checks passed")
