"""The built triton-cpu image, run with the sandbox's hardening flags on the real engine."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker import DockerClient

from certplatform.sandbox import images

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parents[2]
Runner = Callable[..., Any]  # conftest.run_hardened: (command, timeout=120) -> RunResult

KERNEL = """
import json, os, torch, triton, triton.language as tl

@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y, mask=mask)

n = 1000  # not a multiple of the block: the mask matters
x, y = torch.rand(n), torch.rand(n)
out = torch.empty_like(x)
add_kernel[(triton.cdiv(n, 256),)](x, y, out, n, BLOCK=256)
print(json.dumps({
    "torch": torch.__version__,
    "triton": triton.__version__,
    "interpret": os.environ.get("TRITON_INTERPRET"),
    "correct": bool(torch.allclose(out, x + y)),
}))
"""

# Root drops to the candidate as the harness will, then checks the way back is closed.
DROP_PRIVILEGES = """
import os
os.setgroups([])
os.setgid(10001)
os.setuid(10001)
try:
    os.setuid(0)
except PermissionError:
    print("dropped", os.getuid(), os.getgid())
else:
    print("regained root")
"""


def test_image_exists_with_its_labels(docker_client: DockerClient, runtime_image: str) -> None:
    image = docker_client.images.get(runtime_image)
    assert runtime_image in image.tags
    labels = image.labels
    assert labels["org.certplatform.runtime"] == "triton-cpu"
    assert labels["org.certplatform.content-hash"] == runtime_image.rsplit(":", 1)[1]
    config = image.attrs["Config"]
    assert config["User"] in ("", "root")  # the backend starts it as root; see the Dockerfile
    assert "TRITON_INTERPRET=1" in config["Env"]


def test_second_build_is_a_cache_hit(docker_client: DockerClient, runtime_image: str) -> None:
    started = time.monotonic()
    assert images.build_runtime_image(docker_client, "triton-cpu", REPO_ROOT) == runtime_image
    elapsed = time.monotonic() - started
    print(f"cached build_runtime_image: {elapsed * 1000:.0f} ms")
    assert elapsed < 5


def test_tiny_triton_kernel_runs_correctly(run_hardened: Runner) -> None:
    result = run_hardened(["python", "-c", KERNEL])
    print(f"kernel container start-to-exit: {result.run_s:.2f} s")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report == {"torch": "2.13.0+cpu", "triton": "3.9.0", "interpret": "1", "correct": True}


def test_only_loopback_interface(run_hardened: Runner) -> None:
    result = run_hardened(["ls", "/sys/class/net"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["lo"]


@pytest.mark.parametrize("path", ["/opt/harness/planted.py", "/opt/sandbox/lib/planted.py", "/planted"])
def test_root_filesystem_is_read_only(run_hardened: Runner, path: str) -> None:
    result = run_hardened(["sh", "-c", f"echo x > {path}"])
    assert result.exit_code != 0
    assert "Read-only file system" in result.output


def test_tmpfs_scratch_is_writable_and_capped(run_hardened: Runner) -> None:
    # 256 MiB tmpfs: writing 300 MiB must stop at the cap instead of filling the host's disk.
    result = run_hardened(["sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=300 2>&1; stat -c %s /tmp/fill"])
    assert "No space left on device" in result.output
    assert int(result.output.split()[-1]) == 256 * 1024 * 1024


def test_harness_drops_to_candidate_and_cannot_regain_root(run_hardened: Runner) -> None:
    result = run_hardened(["python", "-c", DROP_PRIVILEGES])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["dropped", "10001", "10001"]
    passwd = run_hardened(["getent", "passwd", "candidate"])
    assert passwd.output.split(":")[2] == "10001"


def test_harness_is_in_the_image(run_hardened: Runner) -> None:
    harness = REPO_ROOT / "sandboxes" / "harness"
    expected = sorted(
        path.relative_to(harness).as_posix()
        for path in images._harness_files(harness)  # same selection as the build context
    )
    result = run_hardened(["sh", "-c", "cd /opt/harness && find . -type f ! -name '*.pyc' | sed 's|^./||' | sort"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == expected


def test_failed_build_raises_with_the_build_output(
    docker_client: DockerClient, runtime_image: str, tmp_path: Path
) -> None:
    # A harness that does not compile fails the image's compileall step; every layer before it is cached.
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "sandboxes" / "triton-cpu", repo / "sandboxes" / "triton-cpu")
    (repo / "sandboxes" / "harness").mkdir()
    (repo / "sandboxes" / "harness" / "grade.py").write_text("def broken(:\n")
    with pytest.raises(images.ImageBuildError) as info:
        images.build_runtime_image(docker_client, "triton-cpu", repo)
    assert info.value.step == "docker build"
    assert "grade.py" in info.value.output
    assert "SyntaxError" in info.value.output
    assert not images.image_exists(docker_client, images.image_tag(repo, "triton-cpu"))
