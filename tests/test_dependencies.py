"""The lock files agree with pyproject.toml and with the sandbox image's pins (scripts/lock regenerates them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall(path.read_text("utf-8"))}


def requirements(*extras: str) -> list[Requirement]:
    found = [Requirement(text) for text in PYPROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(text) for text in PYPROJECT["optional-dependencies"][extra]]
    return found


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements/app.lock", ()), ("requirements/test.lock", ("test", "grading-local"))],
)
def test_every_dependency_is_locked_within_its_bounds(lock: str, extras: tuple[str, ...]) -> None:
    locked = pins(ROOT / lock)
    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in {lock}: run scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {requirement.name}=={locked[name]}, outside {requirement.specifier}: run scripts/lock"
        )


def test_production_lock_holds_no_test_or_grading_packages() -> None:
    locked = pins(ROOT / "requirements/app.lock")
    runtime = {canonicalize_name(r.name) for r in requirements()}
    for requirement in requirements("test", "grading-local"):
        name = canonicalize_name(requirement.name)
        assert name in runtime or name not in locked, f"{requirement.name} is a test or grading package in app.lock"


def test_local_grading_packages_match_the_sandbox_image() -> None:
    image = pins(ROOT / "sandboxes/triton-cpu/requirements.txt")
    locked = pins(ROOT / "requirements/test.lock")
    for name, version in image.items():
        if name in locked:
            assert locked[name].public == version.public, f"{name}: test.lock {locked[name]}, sandbox image {version}"
    for name in ("torch", "triton", "numpy"):
        assert name in locked and name in image, name
