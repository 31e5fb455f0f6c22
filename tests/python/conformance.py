#!/usr/bin/env python3
"""A benn client and worker written from docs/PROTOCOL.md alone, run against a real coordinator.

usage: conformance.py ENDPOINT DATADIR

ENDPOINT: a coordinator without CURVE keys, freshly started (no specs), with
--max-attempts of at least 4. DATADIR: an empty directory on the coordinator's host; the
client writes a small IDX dataset there. Prints each step; exits 1 on the first
deviation from the document.
"""
import hashlib
import json
import os
import re
import struct
import sys
import time

import zmq

TAG = b"BENN/1"
CHUNK = 4 << 20          # DATA chunk size
WINDOW = 4               # FETCH_DATA requests kept outstanding
TIMEOUT = 20.0           # seconds to wait for a reply

context = zmq.Context()
workers = []             # peers that said HELLO: kept alive with HEARTBEAT


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def step(text):
    print(f"- {text}", flush=True)


class Peer:
    """One DEALER socket."""

    def __init__(self, endpoint, name):
        self.name = name
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)
        self.heartbeat = None   # seconds, from WELCOME
        self.last_sent = 0.0

    def send(self, type, fields=None, payloads=(), raw=None):
        frames = raw if raw is not None else [TAG, type.encode(), json.dumps(fields or {}).encode()] + list(payloads)
        self.socket.send_multipart(frames)
        self.last_sent = time.monotonic()

    def receive(self, timeout=TIMEOUT):
        """The next message other than HEARTBEAT as (type, fields, payloads), or None."""
        deadline = time.monotonic() + timeout
        while True:
            pump()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.socket.poll(min(50, int(left * 1000) + 1)):
                frames = self.socket.recv_multipart()
                check(len(frames) >= 3 and frames[0] == TAG, f"{self.name}: not a BENN/1 message: {frames[:3]}")
                type = frames[1].decode()
                fields = json.loads(frames[2])
                check(isinstance(fields, dict), f"{self.name}: {type} header is not an object")
                if type == "HEARTBEAT":
                    check(fields == {}, f"coordinator HEARTBEAT has fields {fields}")
                    continue
                return type, fields, frames[3:]

    def expect(self, type, timeout=TIMEOUT):
        m = self.receive(timeout)
        check(m is not None, f"{self.name}: no {type} within {timeout} s")
        check(m[0] == type, f"{self.name}: expected {type}, got {m[0]} {m[1]}")
        return m[1], m[2]

    def expect_error(self, code, containing=None):
        fields, _ = self.expect("ERROR")
        check(fields.get("code") == code, f"{self.name}: expected ERROR {code}, got {fields}")
        check(isinstance(fields.get("reason"), str), f"ERROR without a reason: {fields}")
        if containing:
            check(containing in fields["reason"], f"ERROR reason {fields['reason']!r} lacks {containing!r}")
        return fields

    def expect_all(self, types, timeout=TIMEOUT):
        """Messages of these types, in any order (a JOB may come before the ACK)."""
        got = {}
        for _ in types:
            m = self.receive(timeout)
            check(m is not None, f"{self.name}: no reply within {timeout} s, still expected {set(types) - set(got)}")
            check(m[0] in types and m[0] not in got, f"{self.name}: expected {types}, got {m[0]} {m[1]}")
            got[m[0]] = (m[1], m[2])
        return got

    def expect_nothing(self, seconds=0.6):
        m = self.receive(seconds)
        if m is not None:
            raise Failure(f"{self.name}: expected no reply, got {m[0]} {m[1]}")

    def hello(self, worker_id=None):
        fields = {"name": self.name, "host": "conformance", "cores": 1, "threads": 1, "kernel": "python",
                  "versions": {"python": sys.version.split()[0]}}
        if worker_id:
            fields["worker_id"] = worker_id
        self.send("HELLO", fields)
        welcome, _ = self.expect("WELCOME")
        check(isinstance(welcome.get("heartbeat_ms"), int) and isinstance(welcome.get("liveness"), int), f"WELCOME {welcome}")
        self.heartbeat = welcome["heartbeat_ms"] / 1000
        if self not in workers:
            workers.append(self)
        return welcome


def pump():
    """Workers send something at least every heartbeat_ms (WELCOME)."""
    now = time.monotonic()
    for w in workers:
        if now - w.last_sent >= w.heartbeat / 2:
            w.send("HEARTBEAT", {"role": "worker"})


# MARK: data (docs/PROTOCOL.md, "Dataset files")

def write_dataset(directory):
    os.makedirs(directory, exist_ok=True)
    state = 12345

    def rand(n):
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (state >> 33) % n

    for prefix, count in (("train", 120), ("t10k", 40)):
        pixels, labels = bytearray(), bytearray()
        for _ in range(count):
            label = rand(10)
            labels.append(label)
            image = bytearray(rand(120) for _ in range(64))
            for x in range(8):
                image[(label % 8) * 8 + x] = 255
            pixels += image
        with open(f"{directory}/{prefix}-images-idx3-ubyte", "wb") as f:
            f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", count, 8, 8) + pixels)
        with open(f"{directory}/{prefix}-labels-idx1-ubyte", "wb") as f:
            f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", count) + labels)


# MARK: the spec (docs/PROTOCOL.md, "The SUBMIT spec": every key without `?`)

def spec(directory, **changes):
    s = {
        "model": "tinymlp", "seed": 7, "threads": 1,
        "method": {"name": "bnn", "activationScaling": False, "activationShift": "se", "seReduction": 16,
                   "surrogate": "approx_sign", "edeMaximumTemperature": 10},
        "data": {"directory": directory, "validation": 0, "cropPadding": 0, "flip": False, "limit": 0, "testLimit": 0},
        "train": {"epochs": 1, "batchSize": 16, "optimizer": "adam", "learningRate": 0.01, "momentum": 0.9,
                  "nesterov": False, "weightDecay": 0, "schedule": "cosine", "stepEpochs": 1, "stepFactor": 0.1,
                  "minimumLearningRate": 0, "labelSmoothing": 0},
        "ensemble": {"strategy": "bagging", "members": 2, "aggregation": "soft_logits", "boostingRule": "samme",
                     "sampling": "resample", "start": "independent"},
    }
    for path, value in changes.items():
        section, _, key = path.partition(".")
        target = s[section] if key else s
        key = key or section
        if value is None:
            del target[key]
        else:
            target[key] = value
    return s


# MARK: RESULT payloads (docs/PROTOCOL.md, "RESULT payloads")

def tinymlp_tensors(pixels):
    """The document's tensor table for tinymlp (method bnn) on images of `pixels` pixels."""
    shapes = {"l1.dense.weight": [64, pixels], "l4.dense.weight": [64, 64], "l7.dense.weight": [10, 64]}
    for layer, width in (("l2", 64), ("l5", 64), ("l8", 10)):
        for part in ("gamma", "beta", "running_mean", "running_var"):
            shapes[f"{layer}.bn.{part}"] = [width]
    return shapes


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def safetensors(shapes, checksum=True, corrupt_checksum=False):
    """F32 tensors: zeros, except batch-norm scales and variances (ones)."""
    header, data = {}, bytearray()
    for name in sorted(shapes):
        count = 1
        for d in shapes[name]:
            count *= d
        value = 1.0 if name.endswith((".gamma", ".running_var")) else 0.0
        begin = len(data)
        data += struct.pack(f"<{count}f", *([value] * count))
        header[name] = {"dtype": "F32", "shape": shapes[name], "data_offsets": [begin, len(data)]}
    if checksum:
        c = fnv1a64(data)
        header["__metadata__"] = {"benn.checksum": ("0" * 16 if c != "0" * 16 else "1" * 16) if corrupt_checksum else c}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def read_safetensors(blob):
    check(len(blob) >= 8, "safetensors file too short")
    (n,) = struct.unpack("<Q", blob[:8])
    check(0 < n <= len(blob) - 8, f"safetensors header length {n} does not fit")
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    for name, e in header.items():
        begin, end = e["data_offsets"]
        size = {"F32": 4, "I32": 4, "U8": 1, "U64": 8}[e["dtype"]]
        count = 1
        for d in e["shape"]:
            count *= d
        check(0 <= begin <= end <= len(data) and end - begin == count * size, f"tensor {name}: bad byte range")
    if "benn.checksum" in meta:
        check(meta["benn.checksum"] == fnv1a64(data), "artifact checksum does not match its data section")
    return header, meta


HISTORY = [{"epoch": 1, "loss": 2.3, "trainAccuracy": 0.1, "samplesPerSecond": 1000.0, "seconds": 0.01,
            "learningRate": 0.01}]


def result(job, tensors, history=HISTORY, misses=None):
    return {"job_id": job["job_id"], "spec_id": job["spec_id"], "member": job["job"]["member"],
            "history": history, "seconds": 0.01}, [tensors] + ([misses] if misses is not None else [])


# MARK: the run

def main(endpoint, datadir):
    write_dataset(datadir)
    data_files = {name: open(f"{datadir}/{name}", "rb").read() for name in os.listdir(datadir)}
    client = Peer(endpoint, "conformance-client")

    step("STATUS of a fresh coordinator")
    client.send("STATUS")
    status, _ = client.expect("STATUS_REPLY")
    for key in ("specs", "workers", "dispatch_latency_ms", "large_receive_ms", "event_loop_cpu_s"):
        check(key in status, f"STATUS_REPLY lacks {key}: {status}")
    check(status["specs"] == [], f"a fresh coordinator has specs: {status['specs']}")

    step("frames that are not benn messages: ERROR malformed")
    client.send(None, raw=[b"BENN/9", b"STATUS", b"{}"])
    client.expect_error("malformed", "protocol version mismatch")
    client.send("NO_SUCH_TYPE")
    client.expect_error("malformed")
    client.send(None, raw=[TAG, b"STATUS", b"[]"])
    client.expect_error("malformed")
    client.send(None, raw=[TAG, b"STATUS"])
    client.expect_error("malformed")
    client.send("WELCOME", {"heartbeat_ms": 1, "liveness": 1})
    client.expect_error("invalid")

    step("SUBMIT refusals: bad_spec for values and for a spec that does not decode")
    for bad in (spec(datadir, **{"train.epochs": 0}), spec(datadir, **{"ensemble.strategy": "single"}),
                spec(datadir, **{"train.momentum": 1.0}), spec(datadir, **{"model": "nosuchmodel"}),
                spec(datadir, **{"data.directory": datadir + "/missing"})):
        client.send("SUBMIT", {"spec": bad})
        client.expect_error("bad_spec")
    client.send("SUBMIT", {"spec": spec(datadir), "output": "../escape.benn"})
    client.expect_error("bad_spec")
    for bad in (spec(datadir, **{"train.batchSize": None}), spec(datadir, **{"seed": None}),
                spec(datadir, **{"ensemble.aggregation": "softLogits"}), spec(datadir, **{"train.epochs": "1"})):
        client.send("SUBMIT", {"spec": bad})
        client.expect_error("bad_spec", "spec")
    client.send("SUBMIT", {})
    client.expect_error("bad_spec")

    step("worker messages from a peer without HELLO")
    stranger = Peer(endpoint, "stranger")
    stranger.send("READY")
    stranger.expect_error("hello_required")
    stranger.send("FETCH_DATA", {"sha256": "0" * 64, "offset": 0})
    stranger.expect_error("hello_required")
    stranger.send("HEARTBEAT", {"role": "worker"})
    stranger.expect_error("hello_required")
    stranger.send("PROGRESS", {"text": "nobody asked"})
    stranger.send("BYE")
    stranger.expect_nothing()

    step("two workers join and ask for work")
    pid = os.getpid()
    a = Peer(endpoint, "conformance-a")
    a.hello(worker_id=f"conformance-a-{pid}")
    b = Peer(endpoint, "conformance-b")
    b.hello(worker_id=f"conformance-b-{pid}")
    a.send("READY")
    b.send("READY")
    a.expect_nothing(0.3)

    step("SUBMIT a bagging spec of 2 tinymlp members")
    submitted = spec(datadir)
    client.send("SUBMIT", {"spec": submitted, "output": "conformance.benn"})
    accepted, _ = client.expect("ACCEPTED")
    spec_id = accepted["id"]
    check(re.fullmatch(r"s\d+-[0-9a-f]{8}", spec_id), f"spec id {spec_id!r} is not sN-xxxxxxxx")

    def expect_job(peer, member):
        fields, payloads = peer.expect("JOB")
        job = fields["job"]
        check(fields["spec_id"] == spec_id, f"JOB spec_id {fields['spec_id']}")
        check(re.fullmatch(re.escape(spec_id) + rf"/m{member}/\d+", fields["job_id"]), f"job id {fields['job_id']!r}")
        check(job["member"] == member, f"JOB member {job['member']}, expected {member}")
        check(job["spec"] == submitted, f"JOB spec differs from the submitted one: {job['spec']}")
        check(list(job["sampling"]) == ["bootstrap"] and isinstance(job["sampling"]["bootstrap"]["seed"], int),
              f"bagging sampling {job['sampling']}")
        check(job["needsTrainingMisses"] is False and "warmStartFrom" not in job, f"job {job}")
        check(isinstance(job["memberSeed"], int) and (member != 0 or job["memberSeed"] == submitted["seed"]), "memberSeed")
        check(fields["warm_start"] is False and payloads == [], "warm_start")
        fields["job_id_number"] = int(fields["job_id"].rsplit("/", 1)[1])
        return fields

    job_a = expect_job(a, 0)
    job_b = expect_job(b, 1)
    manifest = job_a["dataset"]["files"]
    check([f["name"] for f in manifest] == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
          f"manifest names/order: {manifest}")

    step("STATUS: the spec runs both members")
    client.send("STATUS")
    status, _ = client.expect("STATUS_REPLY")
    mine = [s for s in status["specs"] if s["id"] == spec_id]
    check(len(mine) == 1 and mine[0]["state"] == "running" and mine[0]["running"] == [0, 1]
          and mine[0]["members"] == 2 and mine[0]["members_done"] == 0, f"STATUS spec {mine}")
    held = {w["name"]: w.get("job") for w in status["workers"]}
    check(held.get("conformance-a") == f"{spec_id}/m0" and held.get("conformance-b") == f"{spec_id}/m1", f"STATUS workers {held}")

    step("FETCH_DATA every file of the manifest and check its SHA-256")
    for f in manifest:
        got, offsets = bytearray(), list(range(0, max(f["size"], 1), CHUNK))
        outstanding = 0
        while offsets or outstanding:
            while offsets and outstanding < WINDOW:
                a.send("FETCH_DATA", {"sha256": f["sha256"], "offset": offsets.pop(0)})
                outstanding += 1
            fields, payloads = a.expect("DATA")
            outstanding -= 1
            check(fields["sha256"] == f["sha256"] and fields["offset"] == len(got), f"DATA {fields}")
            check(len(payloads[0]) == min(CHUNK, f["size"] - len(got)), "DATA chunk size")
            got += payloads[0]
        check(len(got) == f["size"] and hashlib.sha256(got).hexdigest() == f["sha256"], f"{f['name']}: hash mismatch")
        check(bytes(got) == data_files[f["name"]], f"{f['name']} differs from the file written")
    f = manifest[0]
    a.send("FETCH_DATA", {"sha256": f["sha256"], "offset": f["size"]})
    fields, payloads = a.expect("DATA")
    check(payloads == [b""], "at offset = size DATA carries an empty chunk")
    a.send("FETCH_DATA", {"sha256": f["sha256"], "offset": f["size"] + 1})
    check(a.expect_error("invalid").get("sha256") == f["sha256"], "ERROR for FETCH_DATA names the hash")
    a.send("FETCH_DATA", {"sha256": "ab" * 32, "offset": 0})
    check(a.expect_error("invalid").get("sha256") == "ab" * 32, "ERROR for an unknown hash names it")

    step("PROGRESS shows in STATUS")
    a.send("PROGRESS", {"job_id": job_a["job_id"], "spec_id": spec_id, "member": 0, "text": "epoch 1/1 batch 1/8"})
    a.expect_nothing(0.2)
    client.send("STATUS")
    status, _ = client.expect("STATUS_REPLY")
    check({w["name"]: w["progress"] for w in status["workers"]}.get("conformance-a") == "epoch 1/1 batch 1/8", "progress")

    step("FAILED once: the member is dispatched again with a new job id")
    a.send("FAILED", {"job_id": job_a["job_id"], "spec_id": spec_id, "member": 0, "error": "failing once on purpose"})
    a.expect_nothing(0.3)
    a.send("READY")
    job_a2 = expect_job(a, 0)
    check(job_a2["job_id"] != job_a["job_id"] and job_a2["job_id_number"] > job_a["job_id_number"], "a new job id")

    tensors = safetensors(tinymlp_tensors(64))

    step("RESULTs for jobs the sender was not given: forbidden; without HELLO: hello_required")
    b.send("RESULT", *result(job_a2, tensors))
    b.expect_error("forbidden")
    fake = dict(job_a2, job_id=f"{spec_id}/m0/999999")
    b.send("RESULT", *result(fake, tensors))
    b.expect_error("forbidden")
    wrong_member = {"job_id": job_b["job_id"], "spec_id": spec_id, "job": {"member": 0}}
    b.send("RESULT", *result(wrong_member, tensors))
    b.expect_error("forbidden")
    stranger.send("RESULT", *result(job_a2, tensors))
    stranger.expect_error("hello_required")
    b.send("FAILED", {"job_id": job_a2["job_id"], "spec_id": spec_id, "member": 0, "error": "not mine"})
    b.expect_nothing(0.3)
    stranger.send("FAILED", {"job_id": job_a2["job_id"], "spec_id": spec_id, "member": 0, "error": "not mine"})
    stranger.expect_nothing(0.3)
    b.send("RESULT", {"job_id": job_b["job_id"], "spec_id": spec_id, "member": 1})
    b.expect_error("invalid")

    step("a RESULT with a wrong checksum, then one without a tensor: ERROR invalid, dispatched again after a quarantine")
    a.send("RESULT", *result(job_a2, safetensors(tinymlp_tensors(64), corrupt_checksum=True)))
    a.send("READY")
    a.expect_error("invalid", "checksum")
    # Two jobs in a row failed on a (the FAILED above, this check): it is quarantined.
    client.send("STATUS")
    status, _ = client.expect("STATUS_REPLY")
    mine = [w for w in status["workers"] if w["name"] == "conformance-a"]
    check(mine and mine[0]["progress"].startswith("quarantined"), f"worker a after two failures in a row: {mine}")
    job_a3 = expect_job(a, 0)
    missing = tinymlp_tensors(64)
    del missing["l8.bn.running_var"]
    a.send("RESULT", *result(job_a3, safetensors(missing)))
    a.send("READY")
    a.expect_error("invalid")
    job_a4 = expect_job(a, 0)

    step("the same worker on a new connection (same worker_id) delivers its job: ACK, then ACK duplicate")
    a2 = Peer(endpoint, "conformance-a-again")
    a2.hello(worker_id=f"conformance-a-{pid}")
    a2.send("RESULT", *result(job_a4, tensors))
    ack, _ = a2.expect("ACK")
    check(ack == {"job_id": job_a4["job_id"], "duplicate": False}, f"ACK {ack}")
    a2.send("RESULT", *result(job_a4, tensors))
    ack, _ = a2.expect("ACK")
    check(ack == {"job_id": job_a4["job_id"], "duplicate": True}, f"duplicate ACK {ack}")

    step("a RESULT without checksum metadata is refused, naming its job; with one, worker b delivers member 1")
    b.send("RESULT", *result(job_b, safetensors(tinymlp_tensors(64), checksum=False)))
    refusal = b.expect_error("invalid", "checksum")
    check(refusal.get("job_id") == job_b["job_id"], f"the refusal names the job: {refusal}")
    job_b = b.expect("JOB")[0]   # the attempt failed: dispatched again (b is idle)
    b.send("RESULT", *result(job_b, safetensors(tinymlp_tensors(64))))
    b.send("READY")
    ack, _ = b.expect("ACK")
    check(ack == {"job_id": job_b["job_id"], "duplicate": False}, f"ACK {ack}")

    step("STATUS until the spec is finished")
    deadline = time.monotonic() + 60
    while True:
        client.send("STATUS")
        status, _ = client.expect("STATUS_REPLY")
        mine = [s for s in status["specs"] if s["id"] == spec_id][0]
        if mine["state"] in ("finished", "failed") or time.monotonic() > deadline:
            break
        client.expect_nothing(0.2)
    check(mine["state"] == "finished", f"spec did not finish: {mine}")
    check(mine["members_done"] == 2 and mine["running"] == [] and mine["artifact"].endswith("artifacts/conformance.benn"), f"{mine}")

    step("FETCH_ARTIFACT: a safetensors file")
    client.send("FETCH_ARTIFACT", {"id": spec_id})
    fields, payloads = client.expect("ARTIFACT")
    check(fields["id"] == spec_id and fields["path"] == mine["artifact"] and len(payloads) == 1, f"ARTIFACT {fields}")
    header, meta = read_safetensors(payloads[0])
    check("benn.checksum" in meta and len(header) > 0, "the artifact has tensors and a checksum")
    client.send("FETCH_ARTIFACT", {"id": "s999-00000000"})
    client.expect_error("invalid")

    step("a RESULT after the spec finished: ACK duplicate (nothing is applied; the worker may forget it)")
    a2.send("RESULT", *result(job_a4, tensors))
    ack, _ = a2.expect("ACK")
    check(ack == {"job_id": job_a4["job_id"], "duplicate": True}, f"ACK {ack}")

    step("boosting: JOB weights, RESULT misses (one byte per training-view sample)")
    boosting = spec(datadir, **{"data.validation": 20, "ensemble.strategy": "boosting"})
    client.send("SUBMIT", {"spec": boosting})
    boosting_id = client.expect("ACCEPTED")[0]["id"]
    check(boosting_id != spec_id and re.fullmatch(r"s\d+-[0-9a-f]{8}", boosting_id), f"spec id {boosting_id}")
    training_count = 120 - 20   # the training file's samples minus the validation hold-out

    def expect_boosting_job(fields, member):
        job = fields["job"]
        check(fields["spec_id"] == boosting_id and job["member"] == member and job["needsTrainingMisses"] is True, f"JOB {fields}")
        check(job["spec"] == boosting, "JOB spec differs from the submitted one")
        sampling = job["sampling"]["resample"]
        check(isinstance(sampling["seed"], int) and len(sampling["weights"]) == training_count, "one weight per training sample")
        return fields, sampling["weights"]

    # b has been waiting since the READY sent with its last RESULT: it gets the job.
    job0, weights = expect_boosting_job(b.expect("JOB")[0], 0)
    check(all(abs(w - 1 / training_count) < 1e-12 for w in weights), "first boosting weights are uniform")
    b.send("RESULT", *result(job0, tensors))
    refusal = b.expect_error("invalid", "misses")
    check(refusal.get("job_id") == job0["job_id"], f"the refusal names the job: {refusal}")
    job0b, _ = expect_boosting_job(b.expect("JOB")[0], 0)   # a failed attempt: member 0 again
    check(job0b["job_id"] != job0["job_id"], "a new job id")
    misses = bytes(1 if i % 3 == 0 else 0 for i in range(training_count))
    b.send("RESULT", *result(job0b, tensors, misses=misses))
    b.send("READY")
    got = b.expect_all(("ACK", "JOB"))
    check(got["ACK"][0] == {"job_id": job0b["job_id"], "duplicate": False}, f"ACK {got['ACK']}")
    job1, weights = expect_boosting_job(got["JOB"][0], 1)
    check(all((weights[i] > weights[i + 1]) == (i % 3 == 0) for i in range(training_count - 1) if i % 3 != 2),
          "missed samples weigh more in the next round")
    b.send("RESULT", *result(job1, tensors, misses=bytes(training_count)[:-1] + b"\x01"))
    b.send("READY")
    check(b.expect("ACK")[0] == {"job_id": job1["job_id"], "duplicate": False}, "ACK of member 1")
    deadline = time.monotonic() + 60
    while True:
        client.send("STATUS")
        status, _ = client.expect("STATUS_REPLY")
        mine = [s for s in status["specs"] if s["id"] == boosting_id][0]
        if mine["state"] in ("finished", "failed") or time.monotonic() > deadline:
            break
        client.expect_nothing(0.2)
    check(mine["state"] == "finished" and mine["members_done"] == 2 and mine["strategy"] == "boosting", f"boosting spec {mine}")

    step("BYE: the workers leave")
    for w in (a, a2, b):
        w.send("BYE")
        workers.remove(w)
    client.expect_nothing(0.3)
    client.send("STATUS")
    status, _ = client.expect("STATUS_REPLY")
    check(status["workers"] == [], f"workers after BYE: {status['workers']}")
    print("conformance: all checks passed", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1], sys.argv[2])
    except Failure as e:
        print(f"conformance: FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
