"""Fast unit tests: result model, limits, registry, channel framing."""

import json
import socket

import pytest
import torch
from gradelib import channel, isolation, kinds
from gradelib.limits import Limits
from gradelib.results import ERROR, PASSED, GradeResult, TestResult, score_of

from .conftest import CANDIDATE, candidate_ids


def test_results_are_frozen_and_validated():
    result = GradeResult(PASSED, 1.0, (TestResult("a", True, 1.0, "ok"),), "fine")
    with pytest.raises(AttributeError):
        result.status = "failed"
    with pytest.raises(ValueError):
        GradeResult("maybe", 0.5)
    with pytest.raises(ValueError):
        GradeResult(PASSED, 1.5)


def test_results_json_has_the_contract_keys():
    data = json.loads(GradeResult(PASSED, 1.0, (TestResult("a", True, 1.0, "ok"),), "m", "out", "err").to_json())
    assert set(data) == {"status", "score", "tests", "message", "stdout", "stderr"}
    assert set(data["tests"][0]) == {"name", "passed", "score", "message"}


def test_results_json_is_capped_at_one_megabyte():
    tests = tuple(TestResult(f"t{i}", False, 0.0, "x" * 5000) for i in range(2000))
    text = GradeResult(ERROR, 0.0, tests, "m" * 10_000, "o" * 3_000_000, "e" * 3_000_000).to_json()
    assert len(text.encode()) <= 1_000_000
    data = json.loads(text)
    assert data["status"] == ERROR and "truncated" in data["stdout"]


def test_score_is_the_mean_test_score():
    assert score_of([TestResult("a", True, 1.0), TestResult("b", False, 0.0)]) == 0.5
    assert score_of([]) == 0.0


def test_limits_reject_unknown_and_non_positive_values():
    assert Limits.from_mapping({"wall_seconds": 30, "pids": 64}).pids == 64
    with pytest.raises(ValueError):
        Limits.from_mapping({"wall_time": 30})
    with pytest.raises(ValueError):
        Limits.from_mapping({"memory_mb": 0})


def test_registry_refuses_duplicates_and_names_unknown_kinds():
    assert {"triton_op", "chip_profile", "cluster_plan", "plan_document"} <= set(kinds.names())
    with pytest.raises(kinds.DuplicateKindError):
        kinds.register("triton_op")(type("Other", (), {}))
    with pytest.raises(kinds.UnknownKindError, match="no_such_kind"):
        kinds.get("no_such_kind")
    try:
        kinds.register("temp_kind")(type("Temp", (), {}))
        assert kinds.get("temp_kind").kind == "temp_kind"
    finally:
        kinds.unregister("temp_kind")
    assert "temp_kind" not in kinds.names()


def test_channel_round_trip_and_tensor_encoding():
    t = torch.randn(3, 5, dtype=torch.float16).t()
    a, b = socket.socketpair()
    with a, b:
        channel.send(a, {"type": "x", "n": 1}, [channel.tensor_bytes(t), b""])
        header, blobs = channel.recv(b, deadline=None)
    assert header == {"type": "x", "n": 1}
    back = channel.tensor_from_bytes(blobs[0], "float16", [5, 3])
    assert torch.equal(back, t)
    assert channel.tensor_from_bytes(blobs[1], "float32", [0, 4]).shape == (0, 4)


@pytest.mark.parametrize(
    "payload, error",
    [
        (b"\xff\xff\xff\xff", "too large"),
        (b"\x00\x00\x00\x02{]", "malformed"),
    ],
)
def test_channel_rejects_malformed_frames(payload, error):
    a, b = socket.socketpair()
    with a, b:
        a.sendall(payload)
        with pytest.raises(channel.ProtocolError, match=error):
            channel.recv(b, deadline=None)


def test_tensor_decoding_checks_sizes_and_dtypes():
    with pytest.raises(channel.ProtocolError):
        channel.tensor_from_bytes(b"\0" * 8, "float32", [3])
    with pytest.raises(channel.ProtocolError):
        channel.tensor_from_bytes(b"\0" * 8, "object", [1])
    with pytest.raises(channel.ProtocolError):
        channel.tensor_from_bytes(b"", "float32", [-1])


def test_channel_times_out_and_reports_closed_peers():
    import time

    a, b = socket.socketpair()
    with b:
        with pytest.raises(channel.ChannelTimeout):
            channel.recv(b, deadline=time.monotonic() + 0.1)
        a.close()
        with pytest.raises(channel.ChannelClosed):
            channel.recv(b, deadline=time.monotonic() + 1)


def test_compute_time_is_the_sum_of_the_tests_and_absent_when_unmeasured():
    measured = (TestResult("a", True, 1.0, "ok", compute_s=0.5), TestResult("b", False, 0.0, "x", compute_s=0.25))
    data = json.loads(GradeResult(PASSED, 0.5, measured, "m").to_json())
    assert data["compute_s"] == 0.75 and [t["compute_s"] for t in data["tests"]] == [0.5, 0.25]
    assert "compute_s" not in json.loads(GradeResult(PASSED, 1.0, (TestResult("a", True, 1.0),)).to_json())


def test_the_candidate_is_the_user_the_environment_names_and_a_missing_one_is_refused(monkeypatch):
    monkeypatch.setenv(isolation.USER_VAR, CANDIDATE)
    identity = isolation.candidate_identity("require")
    assert (identity.uid, identity.gid, identity.isolated) == (*candidate_ids(), True)
    monkeypatch.setenv(isolation.USER_VAR, "no-such-candidate")
    with pytest.raises(isolation.IsolationError, match="'no-such-candidate' named by CERTPLATFORM_CANDIDATE_USER"):
        isolation.candidate_identity("require")
