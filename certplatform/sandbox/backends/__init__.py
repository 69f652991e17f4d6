"""Sandbox backends: `docker` (isolated; production) and `process` (development, not isolated)."""

from __future__ import annotations

from typing import Any

from certplatform.sandbox.backends.base import Backend, BackendUnavailable, GradeRequest

__all__ = ["Backend", "BackendUnavailable", "GradeRequest", "get_backend"]


def get_backend(name: str, config: dict[str, Any]) -> Backend:
    """The backend `name`, configured from the app config; the process backend is refused in production."""
    if name == "docker":
        from certplatform.sandbox.backends.docker_backend import DockerBackend

        return DockerBackend.from_config(config)
    if name == "process":
        if config.get("ENV_NAME") == "production":
            raise BackendUnavailable("the process backend is not isolated and is refused in production")
        from certplatform.sandbox.backends.process_backend import ProcessBackend

        return ProcessBackend.from_config(config)
    raise BackendUnavailable(f"unknown sandbox backend {name!r}; use docker or process")
