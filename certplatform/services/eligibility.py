"""Whether a learner may start a level's practical exam: the course is complete and prerequisites are certified."""

from __future__ import annotations

from dataclasses import dataclass

from certplatform.models import Course, User
from certplatform.services import certificates
from certplatform.services.learning import course_progress


def certified_levels(user: User) -> frozenset[str]:
    """The levels ("L1", ...) `user` holds a valid certificate for."""
    return frozenset(level.value for level in certificates.issuing.certified_levels(user))


@dataclass(frozen=True)
class Eligibility:
    course_complete: bool
    progress_percent: int
    missing_prerequisites: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        return self.course_complete and not self.missing_prerequisites


def exam_eligibility(user: User, course: Course) -> Eligibility:
    progress = course_progress(user, course)
    held = certified_levels(user)
    missing = tuple(level for level in course.prerequisites if level not in held)
    return Eligibility(
        course_complete=progress.complete, progress_percent=progress.percent, missing_prerequisites=missing
    )
