import pytest

from tests import services

pytestmark = pytest.mark.host_candidate


def test_healthz_reports_database_and_broker(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "db": "ok",
        "broker": "ok",
        "sandbox": "unknown: no grading worker has reported yet",
        "sandbox_build": None,
        "sandbox_pool": None,
    }


@pytest.mark.redis
def test_healthz_checks_a_real_redis_broker(app, client) -> None:
    app.extensions["celery"].conf.broker_url = services.REDIS_URL
    assert client.get("/healthz").json["broker"] == "ok"


def test_healthz_names_the_failing_part(app, client) -> None:
    app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json
    assert body["db"] == "ok" and body["broker"].startswith("error:")
    assert body["status"] == "failing: broker"


def test_json_errors_outside_pages(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"] == "not_found" and response.json["message"]


def test_oversize_request_is_refused(client) -> None:
    response = client.post("/auth/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True)


def test_healthz_reports_the_sandbox_as_the_workers_see_it(app, client) -> None:
    from datetime import timedelta

    from certplatform.extensions import db
    from certplatform.models import WorkerHeartbeat
    from certplatform.models.types import utcnow

    beat = WorkerHeartbeat(worker="celery@a", backend="docker", sandbox_status="ok")
    db.session.add(beat)
    db.session.commit()
    assert client.get("/healthz").json["sandbox"] == "ok"
    beat.sandbox_status = "error: image certplatform/sandbox-triton-cpu:abc missing"
    db.session.commit()
    failing = client.get("/healthz")
    assert failing.status_code == 503 and failing.json["status"] == "failing: sandbox"
    beat.sandbox_status, beat.checked_at = "ok", utcnow() - timedelta(hours=1)
    db.session.commit()
    stale = client.get("/healthz").json
    assert stale["sandbox"].startswith("error: no grading worker has reported for")


def test_a_worker_heartbeat_records_its_sandbox(app) -> None:
    import sys

    from certplatform.services.grading import record_heartbeat

    app.config.update(SANDBOX_BACKEND="process", SANDBOX_PYTHON=sys.executable)
    assert record_heartbeat("celery@test").sandbox_status == "ok"
    app.config["SANDBOX_PYTHON"] = "/nonexistent/python"
    beat = record_heartbeat("celery@test")
    assert beat.sandbox_status.startswith("error") and beat.backend == "process"


def test_livez_answers_without_checking_anything(app, client) -> None:
    app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:1/0"
    assert client.get("/livez").json == {"status": "alive"}
