"""Quizzes drawn from a pool: the draw, limited attempts with a cooldown, answers revealed by policy, module gates
and input that is refused without losing anything; in both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform.content.loader import load_content
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Course, QuizAttempt, QuizDraw
from certplatform.services import learning, quiz_policy, quizzes
from tests.conftest import post_form
from tests.content.minimal_tree import COURSE, MODULE, edit, uid, write, write_minimal_tree
from tests.factories import make_user
from tests.quiz_forms import drawn, hand_in, open_draw, right_answer

QUIZ = f"{MODULE}/quiz.yaml"
URL = "/courses/l1/01-basics/quiz"
NEXT_LESSON = "/courses/l1/02-next/01-only/"
ZH = {"Accept-Language": "zh-CN"}
EXPLAINED = "EXPLAINED-"  # every explanation of the pool starts with it


def _extra_question(n: int) -> str:
    return f"""\
- uuid: {uid(n)}
  kind: single
  prompt: {{zh: 第 {n} 题, en: Extra question {n}}}
  options:
  - {{id: a, text: {{zh: 对, en: Right}}}}
  - {{id: b, text: {{zh: 错, en: Wrong}}}}
  answer: a
  explanation: {{zh: 因为, en: Because}}
"""


def write_pool_tree(root: Path) -> Path:
    """The minimal course with a pool of 8 (4 drawn), 2 attempts then 30 minutes' wait, gating a second module."""
    write_minimal_tree(root)
    quiz = (root / QUIZ).read_text(encoding="utf-8") + "".join(_extra_question(n) for n in (26, 27, 28))
    quiz = quiz.replace("explanation: {zh: 因为, en: Because}", f"explanation: {{zh: 因为, en: {EXPLAINED}Because}}")
    quiz = quiz.replace(
        "questions:\n", "draw: 4\nattempts: {max_attempts: 2, cooldown_minutes: 30}\ngate: true\nquestions:\n"
    )
    write(root, QUIZ, quiz)
    edit(root, f"{COURSE}/course.yaml", "- 01-basics\n", "- 01-basics\n- 02-next\n")
    write(
        root,
        f"{COURSE}/02-next/module.yaml",
        f"uuid: {uid(40)}\ntitle: {{zh: 下一模块, en: Next module}}\nsummary: {{zh: 摘要, en: Summary}}\n"
        "pass_threshold: 0.8\nlessons:\n- 01-only\n",
    )
    write(
        root,
        f"{COURSE}/02-next/01-only/lesson.yaml",
        f"uuid: {uid(41)}\ntitle: {{zh: 唯一, en: Only}}\nsummary: {{zh: 摘要, en: Summary}}\nduration_minutes: 5\n",
    )
    for lang in ("zh", "en"):
        write(root, f"{COURSE}/02-next/01-only/lesson.{lang}.md", "# Only\n\nText.\n")
    second = (root / QUIZ).read_text(encoding="utf-8")
    for n in range(20, 29):
        second = second.replace(uid(n), uid(n + 100))
    second = second.replace("gate: true\n", "")
    write(root, f"{COURSE}/02-next/quiz.yaml", second)
    return root


@pytest.fixture
def learner(app, client, auth, tmp_path):
    root = write_pool_tree(tmp_path / "content")
    assert load_content(root).errors == ()
    app.config["CONTENT_ROOT"] = str(root)
    sync_content(root)
    user = make_user(email="pool@example.com")
    auth.login(user.email)
    post_form(client, "/courses/l1/enroll")
    return user


def _quiz():
    return db.session.scalar(sa.select(Course)).modules[0].quiz


def _fields(html: str) -> set[str]:
    return set(re.findall(r'name="(q-[0-9a-f-]{36})"', html))


def _attempts() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(QuizAttempt))


# --- the draw -------------------------------------------------------------------------------------------------


def test_each_attempt_draws_its_size_from_the_pool_and_a_reload_shows_the_same(client, learner) -> None:
    quiz = _quiz()
    assert len(quizzes.live_questions(quiz)) == 8 and quiz.draw_size == 4
    first = client.get(URL).get_data(as_text=True)
    draw = open_draw(quiz)
    assert len(draw.question_uuids) == 4 and len(set(draw.question_uuids)) == 4
    assert _fields(first) == {f"q-{u}" for u in draw.question_uuids}
    assert "4 questions, drawn from a pool of 8." in first and "2 attempts left before a pause of 30 minutes." in first
    again = client.get(URL, headers=ZH).get_data(as_text=True)
    assert _fields(again) == _fields(first) and open_draw(quiz).id == draw.id
    assert "从 8 道题的题库中抽取 4 道。" in again and "暂停 30 分钟前还有 2 次机会。" in again
    # Handing in closes the draw; the next visit draws afresh.
    hand_in(client, URL, quiz, right=0)
    assert db.session.get(QuizAttempt, 1).draw_id == draw.id
    client.get(URL)
    assert open_draw(quiz).id != draw.id


def test_pool_and_policy_are_validated(tmp_path) -> None:
    root = write_pool_tree(tmp_path)
    edit(root, QUIZ, "draw: 4", "draw: 9")
    [error] = load_content(root).errors
    assert error.file == QUIZ and "9 questions cannot be drawn from a pool of 8" in error.message
    edit(root, QUIZ, "draw: 9", "draw: 4")
    edit(root, QUIZ, "cooldown_minutes: 30", "cooldown_minutes: 0")
    [error] = load_content(root).errors
    assert error.message.startswith("attempts.cooldown_minutes: Input should be greater than or equal to 1")


# --- attempts, cooldown and what is revealed ------------------------------------------------------------------


def test_answers_stay_on_the_server_until_the_module_is_passed(client, learner) -> None:
    quiz = _quiz()
    page = client.get(URL).get_data(as_text=True)
    assert EXPLAINED not in page and "Because" not in page and "opt-correct" not in page
    failed = hand_in(client, URL, quiz, right=1)
    result = client.get(failed.location).get_data(as_text=True)
    assert "25%" in result and "1 attempt left" in result
    assert EXPLAINED not in result and "opt-correct" not in result and "Expected:" not in result
    assert "shown once you pass" in result
    assert "显示正确答案和解析" in client.get(failed.location, headers=ZH).get_data(as_text=True)
    passed = hand_in(client, URL, quiz)
    shown = client.get(passed.location).get_data(as_text=True)
    assert "100%" in shown and EXPLAINED in shown and "opt-correct" in shown
    # The earlier, failed attempt opens up too, now that the module is passed.
    assert EXPLAINED in client.get(failed.location).get_data(as_text=True)


def test_a_quiz_may_reveal_after_every_attempt(app, client, learner, tmp_path) -> None:
    root = Path(app.config["CONTENT_ROOT"])
    edit(root, QUIZ, "gate: true\n", "gate: true\nreveal: after_each_attempt\n")
    sync_content(root)
    failed = hand_in(client, URL, _quiz(), right=0)
    shown = client.get(failed.location).get_data(as_text=True)
    assert "0%" in shown and EXPLAINED in shown and "opt-correct" in shown
    # The result shows exactly the questions drawn for that attempt.
    drawn_uuids = db.session.get(QuizDraw, db.session.get(QuizAttempt, 1).draw_id).question_uuids
    assert shown.count('class="panel question') == 4
    for question in quizzes.draw_questions(_quiz(), drawn_uuids):
        assert question.prompt["en"] in shown


def test_attempts_run_out_then_a_cooldown_with_its_end_time(client, learner) -> None:
    quiz = _quiz()
    first = hand_in(client, URL, quiz, right=0).location
    hand_in(client, URL, quiz, right=1)
    standing = quiz_policy.standing(learner, quiz)
    assert standing.locked and standing.remaining == 0
    until = standing.locked_until.strftime("%Y-%m-%d %H:%M")
    page = client.get(URL).get_data(as_text=True)
    assert 'id="quiz-cooldown"' in page and f"You can try again from {until} UTC (in 30 minutes)." in page
    assert _fields(page) == set()  # no questions while waiting
    zh = client.get(URL, headers=ZH).get_data(as_text=True)
    assert f"{until} UTC 起可以再次作答（还需 30 分钟）。" in zh
    # Handing in anyway is refused and records nothing.
    post_form(client, URL, {"draw": "1", **{f"q-{u}": "a" for u in db.session.get(QuizDraw, 1).question_uuids}})
    assert _attempts() == 2
    # Out of attempts: that round's answers and explanations are shown.
    assert EXPLAINED in client.get(first).get_data(as_text=True)
    # Once the cooldown is over, a new round of attempts starts with a new draw.
    for attempt in db.session.scalars(sa.select(QuizAttempt)):
        attempt.submitted_at -= timedelta(minutes=31)
    db.session.commit()
    page = client.get(URL).get_data(as_text=True)
    assert len(_fields(page)) == 4 and "2 attempts left" in page


# --- the module gate ------------------------------------------------------------------------------------------


def test_a_gating_quiz_locks_the_next_module_until_it_is_passed(client, learner) -> None:
    course = db.session.scalar(sa.select(Course))
    assert learning.module_locks(learning.course_progress(learner, course)) == {course.modules[1].id: course.modules[0]}
    blocked = client.get(NEXT_LESSON)
    assert blocked.status_code == 302 and blocked.location.endswith("/courses/l1/")
    syllabus = client.get("/courses/l1/").get_data(as_text=True)
    assert "Opens once you pass the knowledge check of “Module”." in syllabus and NEXT_LESSON not in syllabus
    assert client.get("/courses/l1/02-next/quiz").status_code == 302
    assert "通过“模块”的知识测验后开放" in client.get("/courses/l1/", headers=ZH).get_data(as_text=True)
    # Every lesson before the gate read: the next step is the gating quiz, not the locked lesson.
    client.get("/courses/l1/01-basics/01-first/")
    client.get("/courses/l1/01-basics/02-second/")
    syllabus = client.get("/courses/l1/").get_data(as_text=True)
    assert f'href="{URL}">Take the knowledge check: Module' in syllabus and NEXT_LESSON not in syllabus
    home = client.get("/dashboard").get_data(as_text=True)
    assert f'href="{URL}">Take the knowledge check: Module' in home and NEXT_LESSON not in home
    assert "参加知识测验：模块" in client.get("/dashboard", headers=ZH).get_data(as_text=True)
    hand_in(client, URL, _quiz(), right=3)  # 75% < 80%: still locked
    assert client.get(NEXT_LESSON).status_code == 302
    hand_in(client, URL, _quiz())
    assert f'href="{NEXT_LESSON}"' in client.get("/dashboard").get_data(as_text=True)
    assert client.get(NEXT_LESSON).status_code == 200
    assert NEXT_LESSON in client.get("/courses/l1/").get_data(as_text=True)


# --- bad input ------------------------------------------------------------------------------------------------


def test_missing_answers_are_refused_and_what_was_given_is_kept(client, learner) -> None:
    quiz = _quiz()
    draw, questions = drawn(client, URL, quiz)
    single = next(q for q in questions if q.kind.value == "single")
    response = post_form(client, URL, {"draw": str(draw.id), quizzes.field_name(single): single.answer})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _attempts() == 0
    assert "3 answers need attention" in html and html.count("Answer this question.") == 3
    assert re.search(rf'name="{quizzes.field_name(single)}" value="{single.answer}" checked', html)
    assert open_draw(quiz).id == draw.id  # the same attempt, not a new draw
    zh = post_form(client, URL, {"draw": str(draw.id)}, headers=ZH).get_data(as_text=True)
    assert "尚未评分，也未消耗作答机会：有 4 个答案需要处理" in zh and "请回答这道题。" in zh


def test_answers_to_questions_outside_the_draw_are_refused(client, learner) -> None:
    quiz = _quiz()
    draw, questions = drawn(client, URL, quiz)
    outside = next(q for q in quizzes.live_questions(quiz) if str(q.uuid) not in draw.question_uuids)
    form = {"draw": str(draw.id), **{quizzes.field_name(q): right_answer(q) for q in questions}}
    for foreign in ({quizzes.field_name(outside): right_answer(outside)}, {"q-not-a-question": "a"}):
        response = post_form(client, URL, {**form, **foreign})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and _attempts() == 0
        assert "not part of this attempt" in html and _fields(html) == {f"q-{u}" for u in draw.question_uuids}
    assert "不属于本次作答" in post_form(client, URL, {**form, **foreign}, headers=ZH).get_data(as_text=True)
    assert post_form(client, URL, form).status_code == 302 and _attempts() == 1


def test_a_stale_page_or_double_submission_grades_once(client, learner) -> None:
    quiz = _quiz()
    draw, questions = drawn(client, URL, quiz)
    form = {"draw": str(draw.id), **{quizzes.field_name(q): right_answer(q) for q in questions}}
    assert post_form(client, URL, form).status_code == 302
    again = post_form(client, URL, form)
    assert again.status_code == 400 and "This page was out of date" in again.get_data(as_text=True)
    assert _attempts() == 1


def test_the_real_courses_draw_from_larger_pools_with_limits() -> None:
    tree = load_content(Path(__file__).resolve().parents[1])
    quizzes_seen = [m.quiz for c in tree.courses for m in c.modules]
    assert len(quizzes_seen) == 15
    for quiz in quizzes_seen:
        assert quiz is not None and quiz.draw is not None and len(quiz.questions) > quiz.draw, quiz.title.en
        assert quiz.attempts is not None and quiz.reveal == "passed_or_out_of_attempts"
