"""Limits of one grading run: taken from the task's exam.yaml and applied by every backend from here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Time a container needs beyond the harness's own deadline: start, imports and tear-down.
CONTAINER_GRACE_S = 20


@dataclass(frozen=True)
class Limits:
    wall_seconds: int
    memory_mb: int
    pids: int
    cpus: float
    file_size_mb: int
    output_kb: int

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Limits:
        return cls(
            wall_seconds=int(data["wall_seconds"]),
            memory_mb=int(data["memory_mb"]),
            pids=int(data["pids"]),
            cpus=float(data["cpus"]),
            file_size_mb=int(data["file_size_mb"]),
            output_kb=int(data["output_kb"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def kill_after_s(self) -> float:
        """When the backend stops waiting and kills the run: the harness should have finished long before."""
        return self.wall_seconds + CONTAINER_GRACE_S

    def docker_options(self) -> dict[str, Any]:
        """Container settings for these limits, with the hardening every grading container gets."""
        return {
            "network_mode": "none",
            "read_only": True,
            "mem_limit": f"{self.memory_mb}m",
            "memswap_limit": f"{self.memory_mb}m",
            "pids_limit": self.pids,
            "nano_cpus": int(self.cpus * 1e9),
            "tmpfs": {"/tmp": f"size={self.file_size_mb}m,mode=1777,nosuid,nodev"},  # noqa: S108 - inside the container
            "cap_drop": ["ALL"],
            "cap_add": ["SETUID", "SETGID"],  # all the harness needs to drop to the candidate user
            "security_opt": ["no-new-privileges"],
            "privileged": False,
            "user": "0:0",
            "ulimits": [],
        }
