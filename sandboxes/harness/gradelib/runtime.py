"""Which device this grading run uses, as the backend tells it in /grade/runtime.json (grader contract, 1).

Absent file = the CPU interpreter, exactly as before the file existed. `{"device": "cuda"}` = kernels compiled
for the NVIDIA GPU the backend passed into the container, with timing. Anything else is refused as a harness
error (exit 70, not_gradable): a misconfigured worker must never silently grade on the wrong device.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CPU = "cpu"
CUDA = "cuda"
DEVICES = (CPU, CUDA)
MAX_RUNTIME_BYTES = 4096
# Tells the candidate process (whose environment the checker builds from scratch) which device it runs on.
DEVICE_VAR = "CERTPLATFORM_DEVICE"
# Environment the candidate needs on a GPU host and may inherit from the checker (the image and the NVIDIA
# container toolkit set them; none is secret): driver library paths and which GPU the container was given.
CUDA_PASSTHROUGH_VARS = (
    "LD_LIBRARY_PATH",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "CUDA_VISIBLE_DEVICES",
    "TRITON_LIBCUDA_PATH",
    "TRITON_PTXAS_PATH",
    "CC",
)


class RuntimeConfigError(ValueError):
    """runtime.json is present but not a valid runtime description."""


@dataclass(frozen=True)
class Runtime:
    device: str = CPU
    timing: bool = False  # report per-test timings; only meaningful on a GPU

    @property
    def interpreted(self) -> bool:
        return self.device == CPU

    @classmethod
    def from_mapping(cls, data: object) -> Runtime:
        if not isinstance(data, dict):
            raise RuntimeConfigError("runtime.json must hold a JSON object")
        unknown = set(data) - {"device", "timing"}
        if unknown:
            raise RuntimeConfigError(f"runtime.json has unknown key(s): {', '.join(sorted(map(str, unknown)))}")
        device = data.get("device")
        if device not in DEVICES:
            raise RuntimeConfigError(f"runtime.json: device must be one of {', '.join(DEVICES)}, got {device!r}")
        timing = data.get("timing", device == CUDA)
        if not isinstance(timing, bool):
            raise RuntimeConfigError(f"runtime.json: timing must be true or false, got {timing!r}")
        if timing and device == CPU:
            # The interpreter runs one program at a time in numpy: its timings say nothing about a kernel.
            raise RuntimeConfigError("runtime.json: timing needs device cuda (interpreter timings are meaningless)")
        return cls(device=device, timing=timing)

    @classmethod
    def load(cls, path: Path) -> Runtime:
        if not path.exists():
            return cls()
        raw = path.read_bytes()
        if len(raw) > MAX_RUNTIME_BYTES:
            raise RuntimeConfigError(f"runtime.json is larger than {MAX_RUNTIME_BYTES} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RuntimeConfigError(f"runtime.json is not valid JSON: {exc}") from None
        return cls.from_mapping(data)

    def candidate_env(self, parent_env: dict[str, str]) -> dict[str, str]:
        """Variables to add to the candidate's minimal environment. Empty on the CPU: its environment stays
        exactly what it always was."""
        if self.interpreted:
            return {}
        env = {k: parent_env[k] for k in CUDA_PASSTHROUGH_VARS if k in parent_env}
        # fp32 tl.dot defaults to TF32 on NVIDIA; graded as IEEE so the CPU interpreter's fp32 tolerance holds
        # on both runtimes (see triton_cases.tolerance for tasks that allow TF32 explicitly).
        env["TRITON_F32_DEFAULT"] = "ieee"
        env[DEVICE_VAR] = self.device
        return env


def cuda_available() -> bool:
    """Whether this process sees a CUDA device (isolated so the tests can answer it without a GPU)."""
    import torch

    return bool(torch.cuda.is_available())


def check_available(runtime: Runtime, probe=None) -> None:
    """Refuse a GPU run on a container that was given no GPU: that is the worker's fault, not the candidate's."""
    if runtime.device == CUDA and not (probe or cuda_available)():
        raise RuntimeConfigError(
            "runtime.json asks for device cuda but no CUDA device is visible "
            "(was the container started with a GPU device request and the NVIDIA runtime?)"
        )
