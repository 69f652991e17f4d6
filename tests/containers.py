"""Sandbox containers as the engine's list reports them.

The list is sparse: docker-py would otherwise inspect each listed container, and a single-use sandbox removed
between the list and its inspection (which happens all the time while a pool refills) raises NotFound.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import docker


@dataclass(frozen=True)
class Listed:
    id: str
    name: str
    labels: dict[str, str]

    @property
    def short_id(self) -> str:
        return self.id[:12]


def listed(client, label, *, all: bool = True) -> list[Listed]:
    """The containers carrying `label` (one filter or a list of them), running only unless `all`."""
    found = client.containers.list(all=all, filters={"label": label}, sparse=True)
    return [
        Listed(c.id, ((c.attrs.get("Names") or [c.id])[0]).lstrip("/"), dict(c.attrs.get("Labels") or {}))
        for c in found
    ]


def remove(client, container: Listed) -> None:
    """Remove it, whether or not it is still there."""
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(container.id, force=True, v=True)
