"""The content loader on tiny trees written here: the valid one loads clean, each breakage is located."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from certplatform.content.loader import load_content
from certplatform.content.markdown_checks import MAX_ASSET_BYTES
from certplatform.content.tree import ContentError
from tests.content.minimal_tree import (
    COURSE,
    COURSE_YAML,
    LESSON1,
    LESSON2,
    MODULE,
    edit,
    line_of,
    uid,
    write,
    write_minimal_tree,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
QUIZ = f"{MODULE}/quiz.yaml"
MD1 = f"{LESSON1}/lesson.en.md"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_minimal_tree(tmp_path)


def only_error(root: Path) -> ContentError:
    errors = load_content(root).errors
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


# --- the valid trees ----------------------------------------------------------------------------------------


def test_minimal_tree_loads_clean(root: Path) -> None:
    tree = load_content(root)
    assert tree.errors == ()
    assert tree.ok
    [course] = tree.courses
    assert (course.slug, course.path, course.spec.level) == ("l1", COURSE, "L1")
    [module] = course.modules
    assert [lesson.slug for lesson in module.lessons] == ["01-first", "02-second"]
    assert module.quiz is not None
    assert [q.kind for q in module.quiz.questions] == ["single", "multiple", "numeric", "single", "numeric"]
    first = module.lessons[0]
    assert first.path == LESSON1
    assert first.assets == ("diagram.svg",)
    assert set(first.body) == {"zh", "en"}
    assert first.body["en"].startswith("# First")
    assert len(tree.version) == 16


def test_real_courses_validate_clean() -> None:
    tree = load_content(REPO_ROOT)
    assert [str(e) for e in tree.errors] == []
    assert {c.spec.level for c in tree.courses} == {"L1", "L2", "L3"}
    for course in tree.courses:
        for module in course.modules:
            assert module.quiz is not None and len(module.quiz.questions) >= 5
            assert module.lessons


def test_broken_exam_yaml_is_reported(root: Path) -> None:
    write(root, "exams/l1-exam/exam.yaml", "not: [checked here\n")
    [err] = load_content(root).errors
    assert err.file == "exams/l1-exam/exam.yaml" and err.line == 2 and "invalid YAML" in err.message


def test_root_without_courses_is_empty_not_an_error(tmp_path: Path) -> None:
    tree = load_content(tmp_path)
    assert (tree.courses, tree.errors) == ((), ())


# --- YAML ---------------------------------------------------------------------------------------------------


def test_bad_yaml_reports_pyyaml_line(root: Path) -> None:
    edit(root, f"{MODULE}/module.yaml", "pass_threshold: 0.8", "pass_threshold: [0.8")
    err = only_error(root)
    assert err.file == f"{MODULE}/module.yaml"
    assert err.line == 5  # PyYAML notices the unclosed flow sequence on the next line
    assert err.message.startswith("invalid YAML:")


def test_bad_yaml_tab_indentation(root: Path) -> None:
    edit(root, f"{LESSON2}/lesson.yaml", "duration_minutes: 10", "duration_minutes:\n\t10")
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON2}/lesson.yaml", 5)
    assert (
        err.message
        == "invalid YAML: while scanning for the next token found character '\\t' that cannot start any token"
    )


@pytest.mark.parametrize(("text", "what"), [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "empty")])
def test_top_level_must_be_a_mapping(root: Path, text: str, what: str) -> None:
    write(root, f"{LESSON1}/lesson.yaml", text)
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON1}/lesson.yaml", None if what == "empty" else 1)
    assert f"the top level must be a mapping of fields, not {'' if what == 'empty' else 'a '}{what}" in err.message


def test_duplicate_yaml_key(root: Path) -> None:
    edit(root, f"{LESSON1}/lesson.yaml", "duration_minutes: 10", "duration_minutes: 10\nduration_minutes: 20")
    err = only_error(root)
    assert (err.file, err.line, err.message) == (
        f"{LESSON1}/lesson.yaml",
        5,
        "duplicate key 'duration_minutes'",
    )


# --- schema errors, located ---------------------------------------------------------------------------------


def test_quiz_with_no_correct_answer(root: Path) -> None:
    edit(root, QUIZ, "answer: y", "answer: e")
    err = only_error(root)
    assert (err.file, err.line) == (QUIZ, line_of(root, QUIZ, "answer: e"))
    assert err.message == "questions[3].answer: no correct answer: 'e' is not one of the options ['x', 'y']"


def test_multiple_choice_answer_not_among_options(root: Path) -> None:
    edit(root, QUIZ, "answer: [a, c]", "answer: [a, z]")
    err = only_error(root)
    assert (err.file, err.line) == (QUIZ, line_of(root, QUIZ, "answer: [a, z]"))
    assert err.message.startswith("questions[1].answer: no correct answer: ['z'] are not options")


def test_question_with_one_option_points_at_options(root: Path) -> None:
    edit(root, QUIZ, "  - {id: y, text: {zh: 错, en: Wrong}}\n", "")
    err = only_error(root)
    assert (err.line, err.message) == (
        line_of(root, QUIZ, "options:", 3),
        "questions[3].options: a single question needs at least two options",
    )


def test_unknown_field(root: Path) -> None:
    edit(root, QUIZ, "  prompt: {zh: 多少, en: How many}", "  prompt: {zh: 多少, en: How many}\n  hint: think")
    err = only_error(root)
    assert (err.file, err.line) == (QUIZ, line_of(root, QUIZ, "hint: think"))
    assert err.message == "questions[2]: unknown field 'hint'"


def test_unknown_top_level_field(root: Path) -> None:
    edit(root, f"{COURSE}/course.yaml", "prerequisites: []", "prerequisites: []\ndifficulty: hard")
    err = only_error(root)
    assert (err.file, err.line, err.message) == (f"{COURSE}/course.yaml", 11, "unknown field 'difficulty'")


def test_value_out_of_range(root: Path) -> None:
    edit(root, f"{LESSON2}/lesson.yaml", "duration_minutes: 10", "duration_minutes: 0")
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON2}/lesson.yaml", 4)
    assert err.message == "duration_minutes: Input should be greater than or equal to 1"


def test_missing_nested_field_points_at_parent_key(root: Path) -> None:
    edit(root, f"{COURSE}/course.yaml", "  en: Course\n", "")
    err = only_error(root)
    assert (err.file, err.line, err.message) == (f"{COURSE}/course.yaml", 4, "title.en: Field required")


def test_error_inside_a_union_member_is_located(root: Path) -> None:
    edit(root, QUIZ, "    value: 4\n", "    value: four\n")
    err = only_error(root)
    assert (err.file, err.line) == (QUIZ, line_of(root, QUIZ, "value: four"))
    assert err.message.startswith("questions[2].answer.value: Input should be a valid number")


def test_value_fitting_no_union_member_is_one_error(root: Path) -> None:
    edit(root, QUIZ, "answer: a\n", "answer: 7\n")
    err = only_error(root)
    assert err.line == line_of(root, QUIZ, "answer: 7")
    assert err.message.startswith("questions[0].answer: fits none of the accepted forms: ")


def test_bad_slug_in_module_list(root: Path) -> None:
    edit(root, f"{COURSE}/course.yaml", "- 01-basics", "- 01-basics\n- ../../etc")
    err = only_error(root)
    assert (err.file, err.line) == (f"{COURSE}/course.yaml", 13)
    assert err.message.startswith("modules[1]: String should match pattern")


def test_all_errors_are_collected(root: Path) -> None:
    edit(root, QUIZ, "answer: y", "answer: e")
    edit(root, f"{LESSON2}/lesson.yaml", "duration_minutes: 10", "duration_minutes: 0")
    edit(root, f"{MODULE}/module.yaml", "pass_threshold: 0.8", "pass_threshold: 2")
    (root / f"{LESSON1}/lesson.zh.md").unlink()
    edit(root, MD1, "../02-second/", "../03-third/")
    files = sorted(e.file for e in load_content(root).errors)
    assert files == sorted([QUIZ, f"{LESSON2}/lesson.yaml", f"{MODULE}/module.yaml", f"{LESSON1}/lesson.zh.md", MD1])


def test_broken_course_yaml_still_checks_its_modules(root: Path) -> None:
    write(root, f"{COURSE}/course.yaml", "uuid: [\n")
    edit(root, QUIZ, "answer: y", "answer: e")
    tree = load_content(root)
    assert [e.file for e in tree.errors] == [f"{COURSE}/course.yaml", QUIZ]
    assert tree.courses == ()  # a course whose own YAML is invalid is left out


def test_invalid_quiz_keeps_the_module_without_it(root: Path) -> None:
    edit(root, QUIZ, "answer: y", "answer: e")
    [course] = load_content(root).courses
    assert course.modules[0].quiz is None
    assert len(course.modules[0].lessons) == 2


# --- duplicates across the tree -----------------------------------------------------------------------------


def test_duplicate_uuid_across_files(root: Path) -> None:
    edit(root, f"{LESSON2}/lesson.yaml", uid(12), uid(11))
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON2}/lesson.yaml", 1)
    assert err.message == f"duplicate uuid {uid(11)}: already used in {LESSON1}/lesson.yaml:1"


def test_duplicate_uuid_reported_for_every_reuse(root: Path) -> None:
    edit(root, f"{LESSON2}/lesson.yaml", uid(12), uid(2).upper())  # same UUID, other spelling
    edit(root, QUIZ, f"uuid: {uid(24)}", f"uuid: {uid(2)}")
    errors = load_content(root).errors
    assert sorted((e.file, e.line) for e in errors) == [
        (f"{LESSON2}/lesson.yaml", 1),
        (QUIZ, line_of(root, QUIZ, uid(2))),
    ]
    assert all(f"already used in {MODULE}/module.yaml:1" in e.message for e in errors)


def test_duplicate_question_uuid_in_one_quiz(root: Path) -> None:
    edit(root, QUIZ, f"uuid: {uid(25)}", f"uuid: {uid(21)}")
    err = only_error(root)
    assert (err.file, err.line) == (QUIZ, line_of(root, QUIZ, uid(21), 2))
    assert err.message == f"duplicate uuid {uid(21)}: already used in {QUIZ}:4"


def _second_course(root: Path, level: str, exam: str) -> None:
    text = COURSE_YAML.replace(uid(1), uid(101)).replace("level: L1", f"level: {level}")
    text = text.replace("exam: l1-exam", f"exam: {exam}")
    write(root, "courses/l2/course.yaml", text)
    for rel in ("module.yaml", "quiz.yaml", "01-first/lesson.yaml", "02-second/lesson.yaml"):
        src = (root / MODULE / rel).read_text(encoding="utf-8")
        for n in range(2, 26):
            src = src.replace(uid(n), uid(100 + n))
        write(root, f"courses/l2/01-basics/{rel}", src)
    for lesson in ("01-first", "02-second"):
        for lang in ("zh", "en"):
            write(root, f"courses/l2/01-basics/{lesson}/lesson.{lang}.md", "# Copy\n")


def test_second_course_with_other_level_is_fine(root: Path) -> None:
    _second_course(root, "L2", "l2-exam")
    tree = load_content(root)
    assert tree.errors == ()
    assert [c.slug for c in tree.courses] == ["l1", "l2"]


def test_duplicate_level(root: Path) -> None:
    _second_course(root, "L1", "l2-exam")
    err = only_error(root)
    assert (err.file, err.line) == ("courses/l2/course.yaml", 2)
    assert err.message == f"duplicate course level 'L1': {COURSE}/course.yaml already has it"


def test_duplicate_exam(root: Path) -> None:
    _second_course(root, "L2", "l1-exam")
    err = only_error(root)
    assert (err.file, err.line) == ("courses/l2/course.yaml", 3)
    assert err.message == f"duplicate course exam 'l1-exam': {COURSE}/course.yaml already has it"


# --- files and folders --------------------------------------------------------------------------------------


def test_module_listed_but_missing(root: Path) -> None:
    edit(root, f"{COURSE}/course.yaml", "- 01-basics", "- 01-basics\n- 02-gone")
    err = only_error(root)
    assert (err.file, err.line) == (f"{COURSE}/course.yaml", 13)
    assert err.message == f"module '02-gone' is listed but {COURSE}/02-gone/ does not exist"


def test_lesson_listed_but_missing(root: Path) -> None:
    shutil.rmtree(root / LESSON2)
    errors = load_content(root).errors
    assert [(e.file, e.line, e.message) for e in errors] == [
        (f"{MODULE}/module.yaml", 7, f"lesson '02-second' is listed but {LESSON2}/ does not exist"),
        # the link to it from lesson 1 (zh and en) breaks too
        (f"{LESSON1}/lesson.zh.md", 3, errors[1].message),
        (MD1, 3, errors[2].message),
    ]
    assert "broken link: '../02-second/'" in errors[1].message


def test_folder_not_listed(root: Path) -> None:
    (root / f"{MODULE}/03-draft").mkdir()
    err = only_error(root)
    assert (err.file, err.line) == (f"{MODULE}/03-draft/", None)
    assert err.message == f"folder not listed in {MODULE}/module.yaml (lessons): its content would never be published"


def test_module_folder_not_listed(root: Path) -> None:
    write(root, f"{COURSE}/02-extra/module.yaml", "uuid: x\n")
    err = only_error(root)
    assert (err.file, err.message) == (
        f"{COURSE}/02-extra/",
        f"folder not listed in {COURSE}/course.yaml (modules): its content would never be published",
    )


@pytest.mark.parametrize(
    ("rel", "what"),
    [
        (f"{LESSON1}/lesson.zh.md", "lesson"),
        (f"{LESSON2}/lesson.en.md", "lesson"),
        (f"{LESSON2}/lesson.yaml", "lesson"),
        (QUIZ, "module"),
        (f"{MODULE}/module.yaml", "module"),
        (f"{COURSE}/course.yaml", "course"),
    ],
)
def test_missing_file(root: Path, rel: str, what: str) -> None:
    (root / rel).unlink()
    err = only_error(root)
    assert (err.file, err.line) == (rel, None)
    assert err.message == f"missing {Path(rel).name}: every {what} needs one"


def test_lesson_body_not_utf8(root: Path) -> None:
    write(root, f"{LESSON2}/lesson.zh.md", "课".encode("gb18030"))
    err = only_error(root)
    assert err.file == f"{LESSON2}/lesson.zh.md"
    assert err.message.startswith("cannot read:")


def test_symlink_in_content(root: Path) -> None:
    os.symlink("/etc/hostname", root / f"{LESSON1}/assets/host.txt")
    errors = load_content(root).errors
    assert [(e.file, e.message) for e in errors] == [
        (f"{LESSON1}/assets/host.txt", "symbolic links are not allowed in content")
    ]


# --- Markdown: links, images, HTML --------------------------------------------------------------------------


def _link(root: Path, target: str, image: bool = False) -> None:
    bang = "!" if image else ""
    write(root, MD1, f"# First\n\nSome text,\nthen a {bang}[link]({target}) on line 4.\n")


@pytest.mark.parametrize(
    "target",
    [
        "../02-second/",
        "../02-second",
        "../02-second/#frag",
        "../01-first",
        "./",
        "#top",
        "assets/diagram.svg",
        "assets/diagram.svg#x",
        "https://triton-lang.org/main/index.html",
        "http://example.org",
        f"../../../../{LESSON2}/",
        "../../01-basics/02-second",
    ],
)
def test_allowed_links(root: Path, target: str) -> None:
    _link(root, target)
    assert load_content(root).errors == ()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("../03-third/", "broken link: '../03-third/' is neither a lesson listed in a module"),
        ("../02-second/lesson.en.md", "broken link: '../02-second/lesson.en.md' is neither"),
        ("assets/missing.png", "broken link: 'assets/missing.png' is not a file in this lesson's assets/"),
        ("../02-second/assets/x.png", "broken link"),
        ("/courses/l1/", "absolute paths are not allowed"),
        ("../../../../../etc/passwd", "leaves the courses/ tree"),
        ("../../../../README.md", "leaves the courses/ tree"),
        (
            "javascript:alert(1)",
            "link to 'javascript:alert(1)': only http(s):// and relative links are allowed",
        ),
        ("data:text/html,hi", "only http(s):// and relative links"),
        ("//evil.example/x", "only http(s):// and relative links"),
        ("mailto:a@b.c", "only http(s):// and relative links"),
        ("", "empty link target"),
        ("assets/diagram.svg?v=2", "cannot carry a query string"),
    ],
)
def test_broken_links(root: Path, target: str, expected: str) -> None:
    _link(root, target)
    err = only_error(root)
    assert (err.file, err.line) == (MD1, 4)
    assert expected in err.message


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("assets/nope.svg", "broken image: 'assets/nope.svg' is not a file in this lesson's assets/"),
        ("../02-second/", "broken image: '../02-second/' must be a file in this lesson's assets/"),
        ("javascript:alert(1)", "image to 'javascript:alert(1)': only http(s)://"),
    ],
)
def test_broken_images(root: Path, target: str, expected: str) -> None:
    _link(root, target, image=True)
    err = only_error(root)
    assert (err.file, err.line, err.message) == (MD1, 4, err.message)
    assert expected in err.message


def test_reference_links_and_autolinks_are_checked(root: Path) -> None:
    write(root, MD1, "# First\n\n[ref link][r] and <https://ok.example>\n\n[r]: ../04-none/\n")
    err = only_error(root)
    assert (err.file, err.line) == (MD1, 3)
    assert "'../04-none/'" in err.message


def test_code_is_never_taken_for_links(root: Path) -> None:
    write(
        root,
        MD1,
        "# First\n\n`[a](gone/)` and `<b>`\n\n```md\n[b](gone/) <div>\n```\n\n    [c](gone/)\n",
    )
    assert load_content(root).errors == ()


def test_link_target_with_escaped_space(root: Path) -> None:
    write(root, f"{LESSON1}/assets/my diagram.svg", "<svg/>\n")
    _link(root, "<assets/my diagram.svg>")
    assert load_content(root).errors == ()


def test_raw_html_block_and_inline(root: Path) -> None:
    write(
        root,
        MD1,
        "# First\n\n<div>\nhi\n</div>\n\nText with <span onclick=x>inline</span> HTML\nand <br> too.\n",
    )
    errors = load_content(root).errors
    assert [(e.file, e.line) for e in errors] == [(MD1, 3), (MD1, 7), (MD1, 7), (MD1, 8)]
    assert errors[0].message == "raw HTML is not allowed in lessons: '<div>'"
    assert errors[1].message == "raw HTML is not allowed in lessons: '<span onclick=x>'"


def test_script_in_markdown_is_an_error(root: Path) -> None:
    write(root, f"{LESSON2}/lesson.zh.md", "# 二\n\n<script>alert(1)</script>\n")
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON2}/lesson.zh.md", 3)
    assert "raw HTML" in err.message and "<script>" in err.message


# --- assets -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("svg", "what"),
    [
        ("<svg>\n<g>\n<script>alert(1)</script>\n</g>\n</svg>\n", "a <script> element"),
        ('<svg>\n<rect\n  onload="alert(1)"/>\n</svg>\n', "an on* event-handler attribute"),
        ('<svg>\n<a href="x">\n<a xlink:href="JavaScript:alert(1)">x</a>\n</svg>\n', "a javascript: URL"),
    ],
)
def test_unsafe_svg(root: Path, svg: str, what: str) -> None:
    write(root, f"{LESSON1}/assets/diagram.svg", svg)
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON1}/assets/diagram.svg", 3)
    assert err.message == f"SVG contains {what}; SVG assets must not carry script"


def test_asset_too_large(root: Path) -> None:
    write(root, f"{LESSON2}/assets/big.png", b"\0" * (MAX_ASSET_BYTES + 1))
    err = only_error(root)
    assert (err.file, err.line) == (f"{LESSON2}/assets/big.png", None)
    assert err.message == f"asset is {MAX_ASSET_BYTES + 1} bytes; the limit is {MAX_ASSET_BYTES} (1 MiB)"


def test_asset_at_the_limit_is_fine(root: Path) -> None:
    write(root, f"{LESSON2}/assets/ok.png", b"\0" * MAX_ASSET_BYTES)
    assert load_content(root).errors == ()


# --- version ------------------------------------------------------------------------------------------------


def test_version_is_stable_and_independent_of_location_and_mtime(root: Path, tmp_path_factory) -> None:
    first = load_content(root).version
    assert load_content(root).version == first
    os.utime(root / MD1, (0, 0))
    assert load_content(root).version == first
    copy = tmp_path_factory.mktemp("copy")
    shutil.copytree(root / "courses", copy / "courses")
    assert load_content(copy).version == first


@pytest.mark.parametrize(
    "change",
    [
        lambda root: edit(root, MD1, "# First", "# First!"),
        lambda root: edit(root, f"{LESSON1}/lesson.yaml", "duration_minutes: 10", "duration_minutes: 11"),
        lambda root: write(root, f"{LESSON1}/assets/diagram.svg", "<svg/>\n"),
        lambda root: write(root, f"{LESSON1}/assets/new.png", b"png"),
        lambda root: (root / f"{LESSON2}/lesson.zh.md").rename(root / f"{LESSON2}/lesson.zh.md.bak"),
        lambda root: write(root, "exams/l1-exam/exam.yaml", "x: 1\n"),
        lambda root: write(root, f"{COURSE}/README.md", ""),
    ],
)
def test_version_changes_with_any_file(root: Path, change) -> None:
    before = load_content(root).version
    change(root)
    assert load_content(root).version != before
