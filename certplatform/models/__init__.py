"""Typed SQLAlchemy models, one module per aggregate."""

from certplatform.models.audit import AppendOnlyError, AuditEvent
from certplatform.models.learning import (
    CertLevel,
    ContentSync,
    Course,
    CourseModule,
    Enrollment,
    Lesson,
    LessonProgress,
    QuestionKind,
    Quiz,
    QuizAttempt,
    QuizQuestion,
    SyncStatus,
)
from certplatform.models.organization import (
    CompanyTier,
    Organization,
    OrganizationKind,
    OrganizationMembership,
)
from certplatform.models.user import Locale, Role, User, UserRole

__all__ = [
    "AppendOnlyError",
    "AuditEvent",
    "CertLevel",
    "CompanyTier",
    "ContentSync",
    "Course",
    "CourseModule",
    "Enrollment",
    "Lesson",
    "LessonProgress",
    "Locale",
    "Organization",
    "OrganizationKind",
    "OrganizationMembership",
    "QuestionKind",
    "Quiz",
    "QuizAttempt",
    "QuizQuestion",
    "Role",
    "SyncStatus",
    "User",
    "UserRole",
]
