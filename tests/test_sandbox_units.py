"""The sandbox layer without a sandbox: results validation, the /grade layout, limits, backends and kinds."""

from __future__ import annotations

import io
import json
import tarfile
import types
from pathlib import Path

import docker.errors
import pytest

from certplatform.sandbox import kinds
from certplatform.sandbox.backends import BackendUnavailable, get_backend
from certplatform.sandbox.backends.base import GradeRequest, layout_tar
from certplatform.sandbox.limits import Limits
from certplatform.sandbox.results import MAX_RESULTS_BYTES, parse_results

LIMITS = Limits(wall_seconds=60, memory_mb=2048, pids=128, cpus=1.5, file_size_mb=16, output_kb=64)
GOOD = {
    "status": "passed",
    "score": 1.0,
    "tests": [{"name": "t", "passed": True, "score": 1, "message": "ok"}],
    "message": "all passed",
    "stdout": "out",
    "stderr": "",
}


def _raw(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def test_results_are_parsed_into_the_one_model() -> None:
    result = parse_results(_raw(), 1.5, "docker")
    assert (result.status, result.score, result.backend, result.duration_s) == ("passed", 1.0, "docker", 1.5)
    assert result.tests[0].name == "t" and result.as_cli_json()["tests"] == [
        {"name": "t", "passed": True, "message": "ok", "compute_s": None}
    ]
    assert result.compute_s is None


def test_compute_times_are_kept_and_bad_ones_dropped() -> None:
    tests = [
        {"name": "a", "passed": True, "score": 1, "message": "ok", "compute_s": 0.25},
        {"name": "b", "passed": True, "score": 1, "message": "ok", "compute_s": -1},
        {"name": "c", "passed": True, "score": 1, "message": "ok", "compute_s": "fast"},
    ]
    result = parse_results(_raw(tests=tests, compute_s=0.25), 1.5, "docker")
    assert [t.compute_s for t in result.tests] == [0.25, None, None] and result.compute_s == 0.25
    cli = result.as_cli_json()
    assert cli["compute_s"] == 0.25 and [t["compute_s"] for t in cli["tests"]] == [0.25, None, None]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"not json", "Expecting value"),
        (b"[1, 2]", "not an object"),
        (_raw(status="awesome"), "unknown status"),
        (_raw(status="not_gradable"), "unknown status"),  # only the backend may say the sandbox failed
        (_raw(score="1.0"), "finite number"),
        (_raw(score=float("nan")), "finite number"),
        (_raw(tests="all good"), "not a list"),
        (b" " * (MAX_RESULTS_BYTES + 1), "cap"),
    ],
)
def test_malformed_results_are_refused(raw: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_results(raw, 0.0, "docker")


def test_scores_are_clamped_and_texts_capped() -> None:
    result = parse_results(_raw(score=7, stdout="x" * 200_000, tests=[{"name": "n", "score": -3}] * 600), 0, "d")
    assert result.score == 1.0 and len(result.stdout) == 64 * 1024
    assert len(result.tests) == 500 and result.tests[0].score == 0.0


def _request(tmp_path: Path) -> GradeRequest:
    tests = tmp_path / "tests"
    (tests / "data").mkdir(parents=True)
    (tests / "cases.py").write_text("CASES = 1\n")
    (tests / "data" / "x.bin").write_bytes(b"\x00\x01")
    (tests / "__pycache__").mkdir()
    (tests / "__pycache__" / "cases.cpython-311.pyc").write_bytes(b"stale")
    return GradeRequest(
        code="def f(): pass\n", tests_dir=tests, kind=kinds.get("triton_op"), runtime="triton-cpu", limits=LIMITS
    )


def test_the_layout_is_owned_by_root_with_private_tests(tmp_path: Path) -> None:
    request = _request(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(layout_tar(request))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {
            "submission",
            "tests",
            "tests/data",
            "submission/submission.py",
            "limits.json",
            "tests/cases.py",
            "tests/data/x.bin",
        }
        assert all(m.uid == 0 and m.gid == 0 for m in members.values())
        assert members["tests/cases.py"].mode == 0o600 and members["limits.json"].mode == 0o600
        assert members["submission/submission.py"].mode == 0o644
        assert json.loads(tar.extractfile("limits.json").read()) == LIMITS.as_dict()


def test_docker_options_apply_every_limit_and_the_hardening() -> None:
    options = LIMITS.docker_options()
    assert options["network_mode"] == "none" and options["read_only"] is True and options["privileged"] is False
    assert options["mem_limit"] == options["memswap_limit"] == "2048m"
    assert options["pids_limit"] == 128 and options["nano_cpus"] == 1_500_000_000
    assert options["tmpfs"]["/tmp"].startswith("size=16m")
    assert options["cap_drop"] == ["ALL"] and sorted(options["cap_add"]) == ["SETGID", "SETUID"]
    assert options["security_opt"] == ["no-new-privileges"]
    assert LIMITS.kill_after_s > LIMITS.wall_seconds


def test_backends_by_name_and_the_process_backend_refused_in_production() -> None:
    config = {"SANDBOX_REPO_ROOT": "/repo", "SANDBOX_PYTHON": "/usr/bin/python3", "ENV_NAME": "development"}
    assert get_backend("process", config).name == "process" and not get_backend("process", config).isolated
    assert get_backend("docker", config).isolated
    with pytest.raises(BackendUnavailable, match="refused in production"):
        get_backend("process", {**config, "ENV_NAME": "production"})
    with pytest.raises(BackendUnavailable, match="unknown sandbox backend"):
        get_backend("firecracker", config)


def test_task_kinds_registry() -> None:
    assert {"triton_op", "chip_profile", "cluster_plan", "plan_document"} <= kinds.registered()
    assert kinds.get("chip_profile").runtimes == frozenset({"triton-cpu"})
    assert kinds.source_suffix("plan_document") == ".md" and kinds.source_suffix("cluster_plan") == ".py"
    with pytest.raises(kinds.UnknownTaskKind, match="no task kind 'mesh_search'"):
        kinds.get("mesh_search")
    with pytest.raises(kinds.DuplicateTaskKind):
        kinds.register(kinds.TRITON_OP)
    with pytest.raises(ValueError, match="unknown runtimes"):
        kinds.register(kinds.TaskKind("x", frozenset({"tpu"}), "s.py", "x"))
    probe = kinds.TaskKind("mesh_search", frozenset({"triton-cpu"}), "plan.py", "probe")
    with kinds.temporary(probe):
        assert kinds.get("mesh_search") is probe
    assert "mesh_search" not in kinds.registered(), "a temporary kind is removed again"


def test_message_codes_from_results_json_are_kept_only_when_well_formed() -> None:
    from certplatform.sandbox import grader_messages
    from certplatform.sandbox.results import parse_results

    good = [{"code": "grade.some_passed", "args": {"passed": 1, "total": 2}}]
    forged = [{"code": "no.such.code", "args": {}}]
    unfilled = [{"code": "grade.some_passed", "args": {"passed": 1}}]
    raw = {
        "status": "failed",
        "score": 0.5,
        "message": "1 of 2 tests passed",
        "parts": good,
        "tests": [
            {"name": "a", "passed": False, "score": 0, "message": "x", "parts": forged},
            {"name": "b", "passed": False, "score": 0, "message": "y", "parts": unfilled},
        ],
    }
    result = parse_results(json.dumps(raw).encode(), 1.0, "process")
    assert result.parts == tuple(good)
    assert [t.parts for t in result.tests] == [None, None]
    stored = grader_messages.encode(result.message, list(result.parts))
    assert grader_messages.submission_message(stored) == "1 of 2 tests passed"
    assert grader_messages.submission_message("plain text") == "plain text"
    assert grader_messages.test_message({"message": "x", "parts": forged}) == "x"


def test_an_owner_in_a_container_of_this_engine_that_runs_no_more_is_gone() -> None:
    from certplatform.sandbox import pool

    recreated = {pool.OWNER_LABEL: "0123456789ab:7"}
    assert pool.owner_gone(recreated, frozenset())
    assert not pool.owner_gone(recreated, frozenset({"0123456789ab"})), "its container still runs"
    assert not pool.owner_gone({pool.OWNER_LABEL: "grading-host-2:7"}, frozenset()), "another machine's owner"
    assert not pool.owner_gone({pool.OWNER_LABEL: "0123456789ab:"}, frozenset()), "no pid: not ours to judge"


class _Listing:
    """An engine whose sparse list reports `entries` (Id, Names, Labels, running) and whose containers may vanish
    between the list and their removal, as single-use sandboxes do."""

    def __init__(self, entries: list[tuple[str, list[str] | None, dict[str, str] | None, bool]], gone=()) -> None:
        self.entries, self.gone, self.removed, self.asked = entries, set(gone), [], []
        self.containers, self.api = self, self

    def list(self, all=False, filters=None, sparse=False):
        assert sparse, "a full list inspects each container, and one removed meanwhile raises NotFound"
        self.asked.append((all, filters))
        wanted = (filters or {}).get("label")
        return [
            types.SimpleNamespace(id=cid, attrs={"Id": cid, "Names": names, "Labels": labels})
            for cid, names, labels, running in self.entries
            if (all or running) and (wanted is None or wanted in (labels or {}))
        ]

    def remove_container(self, container_id, force=False, v=False):
        assert force and v
        if container_id in self.gone:
            raise docker.errors.NotFound("gone")
        self.removed.append(container_id)

    def close(self) -> None:
        pass


def test_the_sparse_list_reads_names_and_labels_from_the_list_itself() -> None:
    from certplatform.sandbox import pool

    engine = _Listing([("a" * 64, ["/sandbox-a"], {pool.LABEL: "x"}, True), ("b" * 64, None, None, False)])
    assert pool.list_containers(engine) == [
        pool.ListedContainer("a" * 64, "sandbox-a", {pool.LABEL: "x"}),
        pool.ListedContainer("b" * 64, "b" * 64, {}),
    ]
    assert [c.short_id for c in pool.list_containers(engine, all=False)] == ["a" * 12]
    assert pool.list_containers(engine, pool.LABEL)[0].name == "sandbox-a"
    assert engine.asked == [(True, None), (False, None), (True, {"label": pool.LABEL})]
    assert pool.remove_container(engine, "a" * 64) and engine.removed == ["a" * 64]
    engine.gone.add("b" * 64)
    assert not pool.remove_container(engine, "b" * 64), "removed meanwhile: no error"


def test_the_reaper_reads_the_sparse_list_and_tolerates_containers_removed_meanwhile() -> None:
    from certplatform.sandbox import pool

    dead = {pool.LABEL: "grade", pool.OWNER_LABEL: "0123456789ab:7"}  # a worker container that runs no more
    engine = _Listing(
        [
            ("1" * 64, ["/orphan"], dead, False),
            ("2" * 64, ["/vanished"], dead, False),
            ("3" * 64, ["/not-a-sandbox"], {pool.OWNER_LABEL: "0123456789ab:7"}, False),
        ],
        gone={"2" * 64},
    )
    assert pool.reap_orphans(engine) == ["orphan"]
    assert engine.removed == ["1" * 64]


def test_a_container_that_graded_is_removed_in_the_background_and_by_a_closed_pool_at_once() -> None:
    import time

    from certplatform.sandbox import pool

    engine = _Listing([])
    sandbox = pool.SandboxPool(start_container=None, client_factory=lambda: engine, size=0, max_age_s=600)
    sandbox.discard("c" * 64)
    deadline = time.monotonic() + 30
    while "c" * 64 not in engine.removed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.removed == ["c" * 64], "the pool's thread removes what a grade used"
    sandbox.close()
    sandbox.discard("d" * 64)
    assert engine.removed == ["c" * 64, "d" * 64], "a closed pool has no thread: it removes at once"


@pytest.mark.parametrize("runtime", ["triton-cpu", "triton-gpu"])
def test_the_image_creates_the_candidate_account_the_harness_drops_to(runtime: str) -> None:
    from certplatform.sandbox.harness_data import load

    account = load("candidate_user")
    dockerfile = Path(__file__).resolve().parents[1] / "sandboxes" / runtime / "Dockerfile"
    [line] = [line for line in dockerfile.read_text(encoding="utf-8").splitlines() if "useradd" in line]
    words = line.split()
    assert words[words.index("--uid") + 1] == str(account.CANDIDATE_UID) and words[-1] == account.CANDIDATE_USER
