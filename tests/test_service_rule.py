"""The one rule for a missing service: skip, or fail where the run requires it."""

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
        ({"CERTPLATFORM_REQUIRE_SERVICES": "1"}, {"postgres", "redis", "docker", "browser"}),
        ({"CERTPLATFORM_REQUIRE_SERVICES": "1", "CERTPLATFORM_REQUIRE_GPU": "1"}, set(services.PROBES)),
        ({"CERTPLATFORM_REQUIRE_SERVICES": "0", "CI": "true"}, set()),
        ({}, set()),
    ],
)
def test_ci_requires_every_service_but_the_gpu(env, expected) -> None:
    assert services.required_services(env) == expected
