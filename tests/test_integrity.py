"""The integrity report: which submissions resemble another candidate's, remembered per pair, seen as policy allows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from certplatform.config import ConfigError
from certplatform.extensions import db
from certplatform.models import Role, SimilarityPair, SubmissionStatus
from certplatform.services import integrity, similarity
from tests.factories import make_user
from tests.integrity_fixtures import INDEPENDENT_SOFTMAX, handed_in, renamed, solution, starter, submit


@pytest.fixture
def two_candidates(exam):
    """The attempt under review (Li Wei's) and another candidate's attempt of the same exam."""
    reviewed = handed_in(make_user(email="li.wei@example.com", name="Li Wei"), exam)
    other = handed_in(make_user(email="zhang.min@example.com", name="Zhang Min"), exam)
    return reviewed, other


def _softmax(report: integrity.AttemptReport) -> integrity.TaskReport:
    return next(t for t in report.tasks if t.task.slug == "softmax")


def test_identical_code_is_flagged(two_candidates) -> None:
    reviewed, other = two_candidates
    mine = submit(reviewed, "softmax", solution("softmax"))
    theirs = submit(other, "softmax", solution("softmax"))
    task = _softmax(integrity.attempt_report(reviewed))
    assert task.compared == 1
    [match] = task.matches
    assert (match.submission.id, match.other.id) == (mine.id, theirs.id)
    assert match.share == pytest.approx(1.0)
    assert match.outcome.a.regions and match.outcome.a.regions == match.outcome.b.regions


def test_code_equal_to_the_starter_is_not_flagged(two_candidates) -> None:
    reviewed, other = two_candidates
    submit(reviewed, "softmax", starter("softmax"))
    submit(other, "softmax", starter("softmax"))
    task = _softmax(integrity.attempt_report(reviewed, threshold=0.05))
    assert task.compared == 1 and task.matches == ()


def test_a_copy_with_renamed_variables_is_flagged(two_candidates) -> None:
    reviewed, other = two_candidates
    copy = renamed(solution("softmax"))
    assert copy != solution("softmax") and "running_max" in copy
    submit(reviewed, "softmax", copy)
    submit(other, "softmax", solution("softmax"))
    [match] = _softmax(integrity.attempt_report(reviewed)).matches
    assert match.share > 0.9
    # The regions point at the renamed text itself: the copied kernel body is marked on the copier's side.
    marked = "".join(
        s.text for line in integrity.marked_lines(copy, match.outcome.a.regions) for s in line.segments if s.matched
    )
    assert "running_max" in marked


def test_independent_code_is_not_flagged(two_candidates) -> None:
    reviewed, other = two_candidates
    submit(reviewed, "softmax", INDEPENDENT_SOFTMAX)
    submit(other, "softmax", solution("softmax"))
    task = _softmax(integrity.attempt_report(reviewed))
    assert task.compared == 1 and task.matches == ()
    [row] = db.session.scalars(sa.select(SimilarityPair)).all()
    assert max(row.low_share, row.high_share) < integrity.threshold_for(reviewed.exam)


def test_every_submission_counts_rejected_ones_too_and_one_line_per_other_attempt(two_candidates, exam) -> None:
    reviewed, other = two_candidates
    rejected = submit(reviewed, "softmax", solution("softmax"), SubmissionStatus.REJECTED)
    submit(reviewed, "softmax", INDEPENDENT_SOFTMAX)
    submit(other, "softmax", solution("softmax"))
    submit(other, "softmax", renamed(solution("softmax")))
    [match] = _softmax(integrity.attempt_report(reviewed)).matches
    assert match.submission.id == rejected.id and match.other.attempt_id == other.id
    # The candidate's own earlier attempt is not another candidate.
    again = handed_in(reviewed.user, exam)
    submit(again, "softmax", solution("softmax"))
    assert all(m.other.attempt_id != again.id for m in _softmax(integrity.attempt_report(reviewed)).matches)


def test_results_are_remembered_per_pair_of_texts(two_candidates, exam) -> None:
    reviewed, other = two_candidates
    submit(reviewed, "softmax", solution("softmax"))
    submit(other, "softmax", solution("softmax"))
    third = handed_in(make_user(), exam)
    submit(third, "softmax", solution("softmax"))  # the same text again: no new comparison
    integrity.attempt_report(reviewed)
    [row] = db.session.scalars(sa.select(SimilarityPair)).all()
    # A page view reads the stored result: change it, and the report says what the store says.
    row.low_share = row.high_share = 0.5
    db.session.commit()
    assert _softmax(integrity.attempt_report(reviewed)).matches == ()
    assert len(_softmax(integrity.attempt_report(reviewed, threshold=0.5)).matches) == 2
    assert db.session.scalar(sa.select(sa.func.count(SimilarityPair.id))) == 1
    # A new starter is new boilerplate: the old result is not used for it.
    task = _softmax(integrity.attempt_report(reviewed)).task
    key = similarity.pair_key(task, row.low_sha256, row.high_sha256)
    task.starter += "\n# changed\n"
    assert similarity.pair_key(task, row.low_sha256, row.high_sha256) != key


def test_the_worker_compares_after_grading(app, two_candidates) -> None:
    from certplatform.sandbox.results import GradeResult
    from certplatform.services import grading

    reviewed, other = two_candidates
    submit(other, "softmax", solution("softmax"))
    mine = submit(reviewed, "softmax", solution("softmax"), SubmissionStatus.RUNNING)
    grading.store(mine, GradeResult(status="passed", score=1.0, tests=(), message="all passed"))
    from certplatform.services import outbox

    outbox.flush()  # eager in tests: the comparison runs now, as a worker would run it
    assert db.session.scalar(sa.select(sa.func.count(SimilarityPair.id))) == 1


def test_the_threshold_comes_from_the_exam_or_the_configuration(app, two_candidates, exam) -> None:
    assert integrity.threshold_for(exam) == app.config["SIMILARITY_THRESHOLD"] == 0.75
    exam.similarity_threshold = 0.9
    assert integrity.threshold_for(exam) == 0.9
    app.config["SIMILARITY_THRESHOLD"] = 1.5
    exam.similarity_threshold = None
    with pytest.raises(ConfigError, match="SIMILARITY_THRESHOLD"):
        integrity.threshold_for(exam)


def test_a_mentor_sees_the_other_attempt_and_an_admin_also_who_it_is(two_candidates) -> None:
    _reviewed, other = two_candidates
    mentor, admin = make_user(Role.MENTOR), make_user(Role.ADMIN)
    assert integrity.other_candidate(mentor, other) == integrity.OtherCandidate(other.id)
    seen = integrity.other_candidate(admin, other)
    assert (seen.name, seen.email) == ("Zhang Min", "zhang.min@example.com")


def test_the_exam_report_lists_each_pair_of_attempts_once(two_candidates, exam) -> None:
    reviewed, other = two_candidates
    submit(reviewed, "softmax", solution("softmax"))
    submit(reviewed, "softmax", renamed(solution("softmax")))
    submit(other, "softmax", solution("softmax"))
    submit(other, "vector_add", solution("vector_add"))
    submit(handed_in(make_user(), exam), "softmax", INDEPENDENT_SOFTMAX)
    [match] = integrity.exam_report(exam)
    assert {match.submission.attempt_id, match.other.attempt_id} == {reviewed.id, other.id}
    assert match.task.slug == "softmax" and match.share == pytest.approx(1.0)


def test_marked_lines_cut_the_code_at_the_regions() -> None:
    lines = integrity.marked_lines("a = 1\nb = 2\nc = 3\n", [(4, 10)])
    assert [line.number for line in lines] == [1, 2, 3]
    assert [[(s.text, s.matched) for s in line.segments] for line in lines] == [
        [("a = ", False), ("1", True)],
        [("b = ", True), ("2", False)],
        [("c = 3", False)],
    ]
    assert [line.matched for line in lines] == [True, True, False]


def test_an_exam_sets_its_own_threshold_in_exam_yaml(app, exam_root) -> None:
    import yaml
    from pydantic import ValidationError

    from certplatform.content.schemas import ExamSpec
    from certplatform.content.sync import sync_content
    from certplatform.models import Exam

    path = exam_root / "exams" / "l1-exam" / "exam.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    for wrong in (0, 1.5, "high"):
        with pytest.raises(ValidationError, match="similarity_threshold"):
            ExamSpec.model_validate({**spec, "review": {**spec["review"], "similarity_threshold": wrong}})
    spec["review"]["similarity_threshold"] = 0.9
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    sync_content(exam_root)
    exam = db.session.scalar(sa.select(Exam))
    assert exam.similarity_threshold == 0.9 and integrity.threshold_for(exam) == 0.9
