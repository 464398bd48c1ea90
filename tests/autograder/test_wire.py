"""The grader <-> worker messages: JSON + safetensors only, nothing that can run code."""
import os
import pickle
import time

import pytest
import torch

from autograder.grading import wire

pytestmark = pytest.mark.slow


def _roundtrip(payload):
    data = wire.encode(payload)
    r, w = os.pipe()
    try:
        os.write(w, data)  # small messages fit in the pipe buffer
        return wire.read_message(r, deadline=time.monotonic() + 5)
    finally:
        os.close(r)
        os.close(w)


def test_nested_payloads_with_tensors_round_trip():
    payload = {"a": [torch.arange(6, dtype=torch.float64).reshape(2, 3), {"b": torch.tensor(True)}],
               "n": None, "x": float("nan"), "i": 3, "s": "text", "f32": torch.ones(0, 4)}
    out = _roundtrip(payload)
    assert torch.equal(out["a"][0], payload["a"][0]) and out["a"][0].dtype == torch.float64
    assert out["a"][1]["b"].item() is True and out["f32"].shape == (0, 4)
    assert out["n"] is None and out["x"] != out["x"] and out["i"] == 3 and out["s"] == "text"


def test_a_tensor_subclass_arrives_as_a_plain_tensor():
    class Rigged(torch.Tensor):
        def __eq__(self, other):
            return True

    sent = torch.zeros(3).as_subclass(Rigged)
    got = _roundtrip({"t": sent})["t"]
    assert type(got) is torch.Tensor and not torch.equal(got, torch.ones(3))


def test_pickles_are_never_loaded():
    ran = []

    class Evil:
        def __reduce__(self):
            return (ran.append, ("pwned",))

    blob = pickle.dumps(Evil())
    for text, payload in ((b'{"t": {"__tensor__": "t0"}}', blob), (blob, b"")):
        with pytest.raises(wire.WireError):
            wire.decode(text, payload)
    assert ran == []


def test_oversized_and_truncated_messages_are_rejected():
    r, w = os.pipe()
    try:
        os.write(w, wire.HEADER.pack(wire.MAX_JSON_BYTES + 1, 0))
        with pytest.raises(wire.WireError, match="too large"):
            wire.read_message(r, deadline=time.monotonic() + 5)
        os.write(w, wire.HEADER.pack(10, 0) + b"{}")
        with pytest.raises(wire.Timeout):
            wire.read_message(r, deadline=time.monotonic() + 0.2)
    finally:
        os.close(r)
        os.close(w)


def test_only_json_values_can_be_sent():
    with pytest.raises(TypeError, match="cannot send a object"):
        wire.encode({"x": object()})
