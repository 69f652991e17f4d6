"""The design document's automatic checks: the reference document passes all four, the starter does not, and each
kind of mistake costs exactly the check it should, with a message that names it. The task's wrong documents
(wrong/*.md, graded in containers by tests/test_docker_wrong_solutions.py) are checked here against the checker
itself, so a change to it that lets one through fails without Docker."""

import pytest

from certplatform.content.wrong_solutions import read_wrong, wrong_files

from .conftest import EXAM, load_cases
from .conftest import text as english

TASK = EXAM / "tasks" / "design_doc"
cases = load_cases("design_doc")
SOLUTION = (TASK / "solution.md").read_text()
WRONG = wrong_files(TASK, ".md")


def results(text):
    return {name: (score, passed, english(message)) for name, score, passed, message in cases.check_document(text)}


def test_reference_document_passes_every_check():
    got = results(SOLUTION)
    assert len(got) == 4 and all(passed and score == 1.0 for score, passed, _ in got.values()), got


def test_starter_fails():
    got = results((TASK / "starter.md").read_text())
    assert got["the plan is feasible"][:2] == (0.0, False)


def test_a_missing_section_is_named_and_costs_a_sixth():
    text = SOLUTION.replace("## Monitoring", "## Observations")
    score, passed, message = results(text)["required sections"]
    assert score == pytest.approx(5 / 6) and not passed and "Monitoring" in message


def test_chinese_headings_count():
    text = (
        SOLUTION.replace("## Trade-offs", "## 取舍").replace("## Monitoring", "## 监控").replace("## Cost", "## 成本")
    )
    assert results(text)["required sections"][1]
    assert results(text)["quoted numbers match the plan"][1]


def test_a_quoted_number_that_does_not_match_the_plan():
    text = SOLUTION.replace("188.2 days", "150 days")
    score, passed, message = results(text)["quoted numbers match the plan"]
    assert not passed and score == pytest.approx(4 / 5) and "'150 days'" in message and "188.2" in message


def test_other_layouts_may_be_quoted_in_trade_offs():
    assert "10,932 tokens/s" in SOLUTION.split("## Trade-offs")[1].split("##")[0]
    assert results(SOLUTION)["quoted numbers match the plan"][1]


def test_an_infeasible_plan_and_wrong_claims():
    over = SOLUTION.replace("[13, 13, 13, 13, 28]", "[13, 13, 13, 13, 27]")
    got = results(over)
    assert got["the plan is feasible"][:2] == (0.0, False) and "sums to 79" in got["the plan is feasible"][2]
    off = SOLUTION.replace('"tokens_per_s": 12301', '"tokens_per_s": 13500')
    got = results(off)
    assert got["the plan is feasible"][1] and not got["the plan's claims match the cost model"][1]


def test_windows_and_browser_line_ends_are_the_same_document():
    got = results(SOLUTION.replace("\n", "\r\n"))
    assert all(passed for _score, passed, _ in got.values()), got


@pytest.mark.parametrize("path", WRONG, ids=[p.name for p in WRONG])
def test_each_wrong_document_fails_the_check_it_names(path):
    expected, document = read_wrong(path)
    failing = [message for _score, passed, message in results(document).values() if not passed]
    # The harness's status for a readable document with a failed check (gradelib/kinds/plan_document.py).
    assert expected.met_by("failed" if failing else "passed", failing), (expected, failing)


@pytest.mark.parametrize("path", WRONG, ids=[p.name for p in WRONG])
def test_the_expect_line_changes_no_check(path):
    assert results(path.read_text()) == results(read_wrong(path)[1])


def test_every_check_has_a_wrong_document_it_fails_first():
    first = {next(n for n, (_s, passed, _m) in results(read_wrong(p)[1]).items() if not passed) for p in WRONG}
    assert first == set(results(SOLUTION))
