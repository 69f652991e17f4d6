"""The one rule for a missing service: skip, or fail where the run requires it (the GPU wherever a `gpu` test runs)."""

import pytest

from tests import services


def test_a_missing_service_skips_where_it_is_not_required(monkeypatch) -> None:
    monkeypatch.setattr(services, "REQUIRED", frozenset({"redis"}))
    with pytest.raises(pytest.skip.Exception, match="engine gone"):
        services.need("engine gone", "docker")


def test_a_missing_service_fails_where_it_is_required(monkeypatch) -> None:
    monkeypatch.setattr(services, "REQUIRED", frozenset({"docker"}))
    with pytest.raises(pytest.fail.Exception, match="engine gone"):
        services.need("engine gone", "docker")


def test_an_answering_service_does_neither(monkeypatch) -> None:
    monkeypatch.setattr(services, "REQUIRED", frozenset(services.PROBES))
    services.need(None, "gpu")


def test_every_marker_of_a_service_has_a_probe(pytestconfig) -> None:
    declared = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert set(services.PROBES) <= declared


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CERTPLATFORM_REQUIRE_SERVICES": "1"}, set(services.PROBES)),
        ({"CERTPLATFORM_REQUIRE_SERVICES": "0", "CI": "true"}, {"gpu"}),
        ({}, {"gpu"}),
    ],
)
def test_ci_requires_every_service_and_every_run_the_gpu(env, expected) -> None:
    assert services.required_services(env) == expected


def test_a_missing_gpu_fails_even_where_nothing_else_is_required(monkeypatch) -> None:
    monkeypatch.setattr(services, "REQUIRED", services.required_services({}))
    with pytest.raises(pytest.fail.Exception, match="needs an NVIDIA GPU"):
        services.need("needs an NVIDIA GPU: none here", "gpu")


@pytest.mark.parametrize(
    ("markexpr", "asked"),
    [("gpu", True), ("docker and gpu", True), ("not gpu", True), ("", False), ("host_candidate", False)],
)
def test_only_a_run_that_names_the_marker_keeps_the_gpu_tests(markexpr, asked) -> None:
    assert services.gpu_asked_for(markexpr) is asked  # "not gpu": -m itself then deselects them


class _Item:
    """As much of a pytest item as the rule reads: its markers."""

    def __init__(self, *markers: str) -> None:
        self._markers = markers

    def get_closest_marker(self, name: str):
        return name if name in self._markers else None


def _skipped(reason: str, **extra) -> pytest.TestReport:
    report = pytest.TestReport("t.py::t", ("t.py", 1, "t"), {}, "skipped", ("t.py", 1, f"Skipped: {reason}"), "setup")
    report.__dict__.update(extra)
    return report


def test_a_gpu_test_that_skipped_has_failed() -> None:
    report = _skipped("no torch.cuda here")
    services.gpu_outcome(_Item("gpu", "docker"), report)
    assert report.failed and "may not skip" in report.longrepr and "no torch.cuda here" in report.longrepr


def test_other_skips_and_expected_failures_stay_as_they_are() -> None:
    other = _skipped("engine gone")
    services.gpu_outcome(_Item("docker"), other)
    xfailed = _skipped("known", wasxfail="known")
    services.gpu_outcome(_Item("gpu"), xfailed)
    assert other.skipped and xfailed.skipped
