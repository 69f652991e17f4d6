"""Typed SQLAlchemy models, one module per aggregate."""

from certplatform.models.audit import AppendOnlyError, AuditEvent
from certplatform.models.certificates import Certificate, CertificateRevocation, ImmutableCertificateError
from certplatform.models.cohorts import Cohort, CohortMember, CohortUpload, UploadStatus, cohort_instructors
from certplatform.models.companies import ApiKey, ContactMessage, VerificationCall
from certplatform.models.exams import AttemptStatus, Exam, ExamAttempt, ExamTask, Submission, SubmissionStatus
from certplatform.models.integrity import SimilarityPair
from certplatform.models.learning import (
    AnswerReveal,
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
    QuizDraw,
    QuizQuestion,
    SyncStatus,
)
from certplatform.models.ops import RateLimitCounter, WorkerHeartbeat
from certplatform.models.organization import (
    CompanyTier,
    Organization,
    OrganizationKind,
    OrganizationMembership,
)
from certplatform.models.outbox import OutboxMessage
from certplatform.models.review import Review, ReviewDecision, ReviewState
from certplatform.models.user import Locale, Role, User, UserRole, UserSession

__all__ = [
    "AnswerReveal",
    "ApiKey",
    "AppendOnlyError",
    "AttemptStatus",
    "AuditEvent",
    "CertLevel",
    "Certificate",
    "CertificateRevocation",
    "Cohort",
    "CohortMember",
    "CohortUpload",
    "CompanyTier",
    "ContactMessage",
    "ContentSync",
    "Course",
    "CourseModule",
    "Enrollment",
    "Exam",
    "ExamAttempt",
    "ExamTask",
    "ImmutableCertificateError",
    "Lesson",
    "LessonProgress",
    "Locale",
    "Organization",
    "OrganizationKind",
    "OrganizationMembership",
    "OutboxMessage",
    "QuestionKind",
    "Quiz",
    "QuizAttempt",
    "QuizDraw",
    "QuizQuestion",
    "RateLimitCounter",
    "Review",
    "ReviewDecision",
    "ReviewState",
    "Role",
    "SimilarityPair",
    "Submission",
    "SubmissionStatus",
    "SyncStatus",
    "UploadStatus",
    "User",
    "UserRole",
    "UserSession",
    "VerificationCall",
    "WorkerHeartbeat",
    "cohort_instructors",
]
