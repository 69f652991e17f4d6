"""Limits of one grading run: taken from the task's exam.yaml and applied by every backend from here.

Also the one place where runtimes differ in how their container is set up (RUNTIME_PROFILES): the backends
ask for `docker_options(runtime)` and `runtime_profile(runtime).runtime_json()` and never test runtime names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

# Time a container needs beyond the harness's own deadline: start, imports and tear-down.
CONTAINER_GRACE_S = 20


@dataclass(frozen=True)
class RuntimeProfile:
    """What a runtime image needs from its container beyond the hardening every grading container gets."""

    device: str  # the harness's device: "cpu" (Triton interpreter) or "cuda" (compiled kernels, timing)
    gpus: bool  # request the host's NVIDIA GPUs (the NVIDIA container toolkit adds their device nodes)
    scratch_exec: bool  # Triton dlopens the kernels it compiles from its cache on the scratch tmpfs

    def runtime_json(self) -> bytes | None:
        """Content of /grade/runtime.json (grader contract, 1); None on the CPU, where the file's absence keeps the
        harness exactly as it was before the file existed."""
        if self.device == "cpu":
            return None
        return json.dumps({"device": self.device}).encode()


# Keys are certplatform.sandbox.kinds.RUNTIMES (a test keeps them equal).
RUNTIME_PROFILES: dict[str, RuntimeProfile] = {
    "triton-cpu": RuntimeProfile(device="cpu", gpus=False, scratch_exec=False),
    "triton-gpu": RuntimeProfile(device="cuda", gpus=True, scratch_exec=True),
}


def runtime_profile(runtime: str) -> RuntimeProfile:
    try:
        return RUNTIME_PROFILES[runtime]
    except KeyError:
        known = ", ".join(sorted(RUNTIME_PROFILES))
        raise ValueError(f"unknown sandbox runtime {runtime!r} (known: {known})") from None


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
        """The limits of a task, checked by the same rules as exam.yaml's (content.schemas.TaskLimits)."""
        from certplatform.content.schemas import TaskLimits

        return cls(**TaskLimits.model_validate(dict(data)).model_dump())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def kill_after_s(self) -> float:
        """When the backend stops waiting and kills the run: the harness should have finished long before."""
        return self.wall_seconds + CONTAINER_GRACE_S

    def docker_options(self, runtime: str = "triton-cpu") -> dict[str, Any]:
        """Container settings for these limits on this runtime, with the hardening every grading container gets.

        The GPU runtime differs in two settings only: a device request for the GPUs, and `exec` on the scratch
        tmpfs (Docker mounts tmpfs noexec by default; Triton loads its compiled kernels from there). Everything
        else, from the dropped capabilities to the read-only root, is the same."""
        profile = runtime_profile(runtime)
        scratch = f"size={self.file_size_mb}m,mode=1777,nosuid,nodev" + (",exec" if profile.scratch_exec else "")
        options: dict[str, Any] = {
            "network_mode": "none",
            "read_only": True,
            "mem_limit": f"{self.memory_mb}m",
            "memswap_limit": f"{self.memory_mb}m",
            "pids_limit": self.pids,
            "nano_cpus": int(self.cpus * 1e9),
            "tmpfs": {"/tmp": scratch},  # noqa: S108 - inside the container
            "cap_drop": ["ALL"],
            "cap_add": ["SETUID", "SETGID"],  # all the harness needs to drop to the candidate user
            "security_opt": ["no-new-privileges"],
            "privileged": False,
            "user": "0:0",
            "ulimits": [],
        }
        if profile.gpus:
            from docker.types import DeviceRequest

            # `--gpus all`: every GPU of the host, with the capabilities the image's NVIDIA_DRIVER_CAPABILITIES
            # names (compute, utility on the CUDA base). The toolkit adds the /dev/nvidia* nodes (mode 0666, so
            # the candidate's uid 10001 can open them) and the driver libraries; no capability is needed for it.
            options["device_requests"] = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
        return options
