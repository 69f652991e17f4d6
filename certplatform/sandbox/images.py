"""Sandbox images built with no registry: a debootstrapped base, a wheelhouse, images tagged by content.

The recipe and its measurements are in shared/design/docker-offline.md. Every function is idempotent and
cheap when its result already exists, so the test command and `certplatform sandbox build` can call them
on every run; a runtime image is rebuilt only when its Dockerfile, requirements, harness or base changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import docker
import docker.errors
from docker import DockerClient

from certplatform.sandbox.build_progress import BuildProgress, DebootstrapParser, DockerBuildParser, PipDownloadParser

log = logging.getLogger(__name__)

BASE_TAG = "certplatform/sandbox-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
WHEELHOUSE_ROOT = Path("/var/cache/certplatform/wheelhouse")
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")

# Default base per runtime, passed to the Dockerfile's `ARG BASE`. Only the bookworm base is built here;
# the CUDA one comes from a registry on NVIDIA hosts.
DEFAULT_BASES = {"triton-cpu": BASE_TAG, "triton-gpu": "nvidia/cuda:12.8.1-base-ubuntu24.04"}
# Python inside each runtime image; the wheelhouse is resolved for it, not for the host's Python.
# bookworm ships 3.11; the CUDA base (Ubuntu 24.04) ships 3.12.
TARGET_PYTHON = {"triton-cpu": "3.11", "triton-gpu": "3.12"}

# pip needs explicit platform tags to download for another interpreter. Both bases accept manylinux
# wheels up to 2.35: bookworm has glibc 2.36, Ubuntu 24.04 has 2.39.
_PLATFORMS = ["manylinux2014_x86_64", "linux_x86_64"] + [f"manylinux_2_{n}_x86_64" for n in range(17, 36)]

# Bytecode the process backend leaves next to the harness must not change the hash (or the image).
_IGNORED_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_IGNORED_SUFFIXES = (".pyc", ".pyo")
_OUTPUT_LIMIT = 20_000


class ImageBuildError(RuntimeError):
    """A step of building a sandbox image failed; `output` holds what that step printed."""

    def __init__(self, step: str, message: str, output: str = "") -> None:
        self.step = step
        self.output = output[-_OUTPUT_LIMIT:]
        text = f"{step}: {message}"
        super().__init__(f"{text}\n--- output of {step} ---\n{self.output}" if self.output else text)


def default_base(runtime: str) -> str:
    return DEFAULT_BASES.get(runtime, BASE_TAG)


def runtime_dir(repo_root: Path, runtime: str) -> Path:
    path = Path(repo_root) / "sandboxes" / runtime
    if not (path / "Dockerfile").is_file():
        raise ImageBuildError("lookup", f"no Dockerfile for runtime {runtime!r} in {path}")
    return path


def _harness_files(harness_dir: Path) -> Iterator[Path]:
    """Files of the harness in a stable order, without bytecode and tool caches."""
    for dirpath, dirnames, filenames in os.walk(harness_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_NAMES)
        for name in sorted(filenames):
            if not name.endswith(_IGNORED_SUFFIXES):
                yield Path(dirpath) / name


def content_hash(repo_root: Path, runtime: str, base_tag: str | None = None, harness_dir: Path | None = None) -> str:
    """SHA-256 over everything that goes into the runtime image except the wheels, which the pins fix."""
    rdir = runtime_dir(repo_root, runtime)
    harness = Path(harness_dir) if harness_dir is not None else Path(repo_root) / "sandboxes" / "harness"
    if not harness.is_dir():
        raise ImageBuildError("lookup", f"harness folder {harness} does not exist")
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        # Length-prefixed so that moving bytes between a name and a content cannot collide.
        for part in (label.encode(), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)

    add("base", (base_tag or default_base(runtime)).encode())
    add("runtime", runtime.encode())
    for name in ("Dockerfile", "requirements.txt"):
        add(name, (rdir / name).read_bytes())
    for path in _harness_files(harness):
        add("harness/" + path.relative_to(harness).as_posix(), path.read_bytes())
    return digest.hexdigest()


def image_tag(repo_root: Path, runtime: str, base_tag: str | None = None, harness_dir: Path | None = None) -> str:
    return f"certplatform/sandbox-{runtime}:{content_hash(repo_root, runtime, base_tag, harness_dir)[:12]}"


def image_exists(client: DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _run(step: str, cmd: Sequence[str], timeout: float, on_line: Callable[[str], None] | None = None) -> str:
    """Run a command, handing each line it prints to `on_line` as it comes; return its output, or raise
    ImageBuildError carrying that output."""
    started = time.monotonic()
    try:
        # Fixed argument lists of our own, no shell: nothing a user typed reaches them.
        proc = subprocess.Popen(  # noqa: S603
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1
        )
    except FileNotFoundError as exc:
        raise ImageBuildError(step, f"{cmd[0]} is not installed (scripts/lib/docker-engine.sh installs it)") from exc
    # Reading line by line blocks, so the time limit is a timer that kills the command.
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line)
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    output = "".join(lines)
    if expired.is_set():
        raise ImageBuildError(step, f"timed out after {timeout:.0f} s", output)
    log.info("%s: exit %d after %.1f s", step, proc.returncode, time.monotonic() - started)
    if proc.returncode != 0:
        raise ImageBuildError(step, f"exit status {proc.returncode}", output)
    return output


def _unmount_below(root: Path) -> None:
    """Lazily unmount anything a failed debootstrap left mounted in the rootfs (proc, sys) before deleting it,
    so that rmtree never walks into the host's /proc or /sys."""
    prefix = str(root.resolve()) + "/"
    with open("/proc/mounts", encoding="utf-8") as mounts:
        targets = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False)  # noqa: S603, S607


def ensure_base_image(
    client: DockerClient,
    base_tag: str = BASE_TAG,
    suite: str = "bookworm",
    mirror: str = DEBIAN_MIRROR,
    workdir: Path | None = None,
    timeout: float = 1800,
    progress: BuildProgress | None = None,
) -> str:
    """Debootstrap a minimal Debian with Python and import it as `base_tag`, unless that image exists."""
    progress = progress or BuildProgress()
    if image_exists(client, base_tag):
        progress.skip("debootstrap")
        progress.skip("import")
        return base_tag
    repository, _, tag = base_tag.rpartition(":")
    tmp = Path(tempfile.mkdtemp(prefix="certplatform-base-", dir=workdir))
    rootfs, tarball = tmp / "rootfs", tmp / "rootfs.tar"
    try:
        include = "--include=" + ",".join(BASE_PACKAGES)
        cmd = ["debootstrap", "--variant=minbase", include, suite, str(rootfs), mirror]
        progress.begin("debootstrap", DebootstrapParser())
        _run("debootstrap", cmd, timeout, progress.feed)
        progress.end()
        progress.begin("import")
        # apt's lists and package cache are useless in an image that never runs apt.
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for child in (rootfs / sub).glob("*"):
                if child.is_file():
                    child.unlink()
        _run("tar", ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], timeout)
        try:
            client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
        except docker.errors.APIError as exc:
            raise ImageBuildError("docker import", str(exc)) from exc
        if not image_exists(client, base_tag):
            raise ImageBuildError("docker import", f"engine accepted the import but {base_tag} is missing")
        progress.end()
    finally:
        _unmount_below(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    return base_tag


def ensure_wheelhouse(
    runtime: str,
    dest: Path,
    repo_root: Path,
    python_version: str | None = None,
    find_links: Sequence[Path] = (),
    timeout: float = 3600,
    progress: BuildProgress | None = None,
) -> Path:
    """Make `dest` hold wheels for every pinned requirement of `runtime`, downloading only what is missing."""
    progress = progress or BuildProgress()
    requirements = runtime_dir(repo_root, runtime) / "requirements.txt"
    progress.begin("wheels", PipDownloadParser(requirement_count(requirements)))
    pyver = python_version or TARGET_PYTHON.get(runtime, "3.11")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    # --only-binary: an sdist would need a compiler and the target's headers; every pin has wheels.
    cmd = ["pip", "download", "--no-input", "-d", str(dest), "-r", str(requirements), "--only-binary=:all:"]
    cmd += ["--python-version", pyver, "--implementation", "cp"]
    for platform in _PLATFORMS:
        cmd += ["--platform", platform]
    # Offline first: when the wheelhouse already satisfies the pins, no index is asked at all.
    offline = [*cmd, "--no-index", "--find-links", str(dest)]
    try:
        _run("pip download (offline)", _pip(offline), timeout, progress.feed)
        progress.end()
        return dest
    except ImageBuildError as exc:
        log.info("wheelhouse %s incomplete, downloading: %s", dest, exc.step)
    # pip's own configuration still applies here (on our machines it points at the local torch CPU wheel).
    online = [*cmd, *(arg for link in find_links for arg in ("--find-links", str(link)))]
    _run("pip download", _pip(online), timeout, progress.feed)
    progress.end()
    return dest


def requirement_count(requirements: Path) -> int:
    """Pinned requirements in a requirements file (one per line that is not blank or a comment)."""
    lines = requirements.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _pip(args: list[str]) -> list[str]:
    # The pip of whatever interpreter runs us; it downloads for the target Python anyway.
    return [sys.executable, "-m", *args, "--disable-pip-version-check"]


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link wheels into the build context (hundreds of MB), copying across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build_runtime_image(
    client: DockerClient,
    runtime: str,
    repo_root: Path,
    base_tag: str | None = None,
    wheelhouse_root: Path = WHEELHOUSE_ROOT,
    harness_dir: Path | None = None,
    find_links: Sequence[Path] = (),
    workdir: Path | None = None,
    timeout: float = 3600,
    tag: str | None = None,
    progress: BuildProgress | None = None,
) -> str:
    """Build `certplatform/sandbox-<runtime>:<hash12>` (or `tag`) from the base, the wheelhouse and the harness.

    Returns at once when an image with that tag exists. For triton-cpu the base is built here too; other
    runtimes name a base from a registry (a CUDA image) that the engine must already have or be able to pull.
    `progress` hears every step and every line the steps print.
    """
    repo_root = Path(repo_root)
    base_tag = base_tag or default_base(runtime)
    progress = progress or BuildProgress()
    harness = Path(harness_dir) if harness_dir is not None else repo_root / "sandboxes" / "harness"
    tag = tag or image_tag(repo_root, runtime, base_tag, harness)
    if image_exists(client, tag):
        return tag
    # Scratch space next to the wheelhouse: hard links then work, and neither a rootfs with device nodes
    # nor half a GB of wheels lands on a /tmp that may be a small or nodev tmpfs.
    workdir = workdir or Path(wheelhouse_root).parent
    workdir.mkdir(parents=True, exist_ok=True)
    with _exclusive(workdir / f".build-{runtime}.lock"):
        if image_exists(client, tag):  # built by whoever held the lock before us
            return tag
        if base_tag.startswith("certplatform/sandbox-base:"):  # ours to build; any other comes from a registry
            ensure_base_image(client, base_tag, workdir=workdir, progress=progress)
        else:
            progress.skip("debootstrap")
            progress.skip("import")
        wheels = ensure_wheelhouse(
            runtime, wheelhouse_root / runtime, repo_root, find_links=find_links, progress=progress
        )
        rdir = runtime_dir(repo_root, runtime)
        tmp = Path(tempfile.mkdtemp(prefix=f"certplatform-{runtime}-", dir=workdir))
        try:  # the build context: Dockerfile, requirements.txt, wheels/, harness/
            for name in ("Dockerfile", "requirements.txt"):
                shutil.copy2(rdir / name, tmp / name)
            (tmp / "wheels").mkdir()
            for wheel in wheels.glob("*.whl"):
                _link_or_copy(wheel, tmp / "wheels" / wheel.name)
            (tmp / "harness").mkdir()
            for path in _harness_files(harness):
                dst = tmp / "harness" / path.relative_to(harness)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dst)
            progress.begin(
                "docker build",
                DockerBuildParser(
                    (rdir / "Dockerfile").read_text(encoding="utf-8"), requirement_count(tmp / "requirements.txt")
                ),
            )
            digest = content_hash(repo_root, runtime, base_tag, harness)[:12]
            _docker_build(client, tmp, tag, runtime, base_tag, timeout, digest, progress.feed)
            progress.end()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return tag


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialise builds across processes (the test command, `certplatform sandbox build`, workers), which
    would otherwise debootstrap and download the same things twice into the same wheelhouse."""
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _docker_build(
    client: DockerClient,
    context: Path,
    tag: str,
    runtime: str,
    base_tag: str,
    timeout: float,
    digest: str,
    on_line: Callable[[str], None] | None = None,
) -> None:
    """Build through the low-level API so that the whole log is kept for the error, whatever fails."""
    lines: list[str] = []
    error = ""
    try:
        stream = client.api.build(
            path=str(context),
            tag=tag,
            buildargs={"BASE": base_tag, "RUNTIME": runtime},
            labels={"org.certplatform.content-hash": digest},
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            timeout=int(timeout),
        )
        # Read the stream to its end even after an error: the engine closes it then, and leaving it
        # half-read would leak the connection.
        for chunk in stream:
            if "stream" in chunk:
                lines.append(chunk["stream"])
                if on_line is not None:
                    on_line(chunk["stream"])
            if "error" in chunk:
                lines.append(chunk["error"])
                error = error or chunk["error"].strip()
    except docker.errors.APIError as exc:
        raise ImageBuildError("docker build", str(exc), "".join(lines)) from exc
    except (docker.errors.DockerException, OSError) as exc:  # refused, reset, timed out: the engine is gone
        raise ImageBuildError("docker build", f"engine unreachable: {exc}", "".join(lines)) from exc
    if error:
        raise ImageBuildError("docker build", error, "".join(lines))
    if not image_exists(client, tag):
        raise ImageBuildError("docker build", f"build ended without an image {tag}", "".join(lines))
