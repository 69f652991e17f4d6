"""A task's limits are one contract in three places: exam.yaml's schema, the backend that enforces them on the
container, and the harness that enforces the rest inside it. Same names, same types, same values end to end."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest
from pydantic import ValidationError

from certplatform.content.schemas import TaskLimits
from certplatform.sandbox.limits import Limits
from tests.exam_fixtures import REPO

sys.path.insert(0, str(REPO / "sandboxes" / "harness"))
from gradelib import limits as harness_limits

HOST = {f.name: f.type for f in dataclasses.fields(Limits)}
HARNESS = {f.name: f.type for f in dataclasses.fields(harness_limits.Limits)}
SCHEMA = {name: field.annotation.__name__ for name, field in TaskLimits.model_fields.items()}
EXAMPLE = {"wall_seconds": 90, "memory_mb": 1536, "pids": 96, "cpus": 1.5, "file_size_mb": 24, "output_kb": 48}


def test_the_three_declare_the_same_limits_with_the_same_types() -> None:
    assert list(HOST) == list(HARNESS) == list(SCHEMA) == list(harness_limits.LIMIT_NAMES)
    assert HOST == HARNESS == SCHEMA


def test_what_the_backend_writes_the_harness_reads_unchanged() -> None:
    host = Limits.from_mapping(EXAMPLE)
    inside = harness_limits.Limits.from_mapping(json.loads(json.dumps(host.as_dict())))  # limits.json
    assert dataclasses.asdict(inside) == host.as_dict() == TaskLimits(**EXAMPLE).model_dump()


@pytest.mark.parametrize("bad", [{"wall_seconds": 0}, {"memory_mb": 10**6}, {"cpus": -1}, {"gpus": 1}])
def test_the_backend_refuses_what_exam_yaml_may_not_say(bad) -> None:
    with pytest.raises(ValidationError):
        Limits.from_mapping({**EXAMPLE, **bad})


def test_the_harness_defaults_are_limits_exam_yaml_could_grant() -> None:
    TaskLimits(**dataclasses.asdict(harness_limits.Limits()))
