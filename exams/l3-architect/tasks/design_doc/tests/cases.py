"""Automatic checks of the design document (mentors grade the argument): the required sections, the plan it argues
(a ```json block for the public example of plan_training) against the feasibility gates and the cost model, and
every number it quotes with a checked unit against that plan."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from costmodel import Evaluation  # noqa: E402
from gates import CLAIM_TOLERANCE, check, m  # noqa: E402

KIND = "plan_document"
ENTRY = "design.md"

A800 = {
    "id": "g0",
    "chip": "A800",
    "nodes": 2,
    "devices_per_node": 8,
    "mem_gib": 80,
    "tflops": {"bf16": 312, "fp16": 312, "fp32": 19.5},
    "hbm_gbps": 2000,
    "intra_node_gbps": 200,
    "inter_node_gbps": 25,
}
X910 = {
    "id": "g1",
    "chip": "X910",
    "nodes": 4,
    "devices_per_node": 8,
    "mem_gib": 64,
    "tflops": {"bf16": 280, "fp16": 280, "fp32": 17.5},
    "hbm_gbps": 1600,
    "intra_node_gbps": 90,
    "inter_node_gbps": 25,
}
CLUSTER = {"node_groups": [A800, X910], "cross_group_gbps": 12.5, "mem_reserve_frac": 0.10, "efficiency": 0.45}
MODEL = {
    "name": "llama-70b",
    "layers": 80,
    "hidden": 8192,
    "heads": 64,
    "kv_groups": 8,
    "ffn": 28672,
    "vocab": 32000,
    "tied_embeddings": False,
}
WORKLOAD = {
    "kind": "train",
    "seq": 4096,
    "global_batch": 512,
    "dtype": "bf16",
    "optimizer": "adam",
    "tokens_total": 2.0e11,
}

# Each required section: its name in feedback and the words a heading may use (English or Chinese).
SECTIONS = (
    ("Plan", ("plan", "计划", "方案")),
    ("Trade-offs", ("trade-off", "tradeoff", "取舍", "权衡")),
    ("Cross-vendor traffic", ("cross-vendor", "cross vendor", "跨厂商", "flagcx")),
    ("Failure and checkpoint policy", ("checkpoint", "检查点")),
    ("Monitoring", ("monitoring", "监控")),
    ("Cost", ("cost", "成本")),
)
NUMBER = r"(\d[\d,]*(?:\.\d+)?)\s*"
# Units whose numbers are checked: quoted figure -> the plan's value.
UNITS = (
    ("tokens/s", re.compile(NUMBER + r"(?:tokens/s|tokens per second|tokens/秒)", re.I)),
    ("s per iteration", re.compile(NUMBER + r"(?:s/iteration|s per iteration|s/iter|秒/迭代|秒每次迭代)", re.I)),
    ("days", re.compile(NUMBER + r"(?:days?\b|天)", re.I)),
    ("device-hours", re.compile(NUMBER + r"(?:device-hours|device hours|卡时)", re.I)),
)
REQUIRED_FIGURES = ("tokens/s", "days", "device-hours")


def cases(seed: int) -> list:
    return []  # the document has no hidden instances: everything is checked in check_document


def figures(ev: Evaluation) -> dict[str, float]:
    days = WORKLOAD["tokens_total"] / ev.tokens_per_s / 86400
    return {
        "tokens/s": ev.tokens_per_s,
        "s per iteration": ev.iter_s,
        "days": days,
        "device-hours": days * 24 * ev.devices,
    }


def _headings(text: str) -> list[str]:
    return [line.lstrip("#").strip().lower() for line in text.splitlines() if re.match(r"^#{1,6}\s", line)]


def _plan_block(text: str):
    match = re.search(r"^```json[ \t]*\n(.*?)^```", text, re.M | re.S)
    if match is None:
        return None, m("doc.no_json")
    try:
        return json.loads(match.group(1)), None
    except json.JSONDecodeError as exc:
        return None, m("doc.bad_json", error=str(exc))


def _prose(text: str) -> str:
    """The Plan and Cost sections outside fenced blocks: the numbers that state what this plan achieves. (The
    plan's JSON is checked as claims; other sections may quote other layouts' figures to compare them.)"""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    keep, checked = [], False
    words = SECTIONS[0][1] + SECTIONS[-1][1]
    for line in text.splitlines():
        if re.match(r"^#{1,6}\s", line):
            heading = line.lstrip("#").strip().lower()
            checked = any(w in heading for w in words) and not any(w in heading for _, ws in SECTIONS[1:-1] for w in ws)
            continue
        if checked:
            keep.append(line)
    return "\n".join(keep)


def check_document(text: str) -> list[tuple[str, float, bool, list[dict]]]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # a browser's form sends CRLF line ends
    out = []
    heads = _headings(text)
    missing = [name for name, words in SECTIONS if not any(any(w in h for w in words) for h in heads)]
    present = len(SECTIONS) - len(missing)
    out.append(
        (
            "required sections",
            present / len(SECTIONS),
            not missing,
            [m("doc.sections_ok") if not missing else m("doc.sections_missing", names=", ".join(missing))],
        )
    )
    plan, problem = _plan_block(text)
    if plan is None:
        out.append(("the plan is feasible", 0.0, False, [problem]))
        out.append(("the plan's claims match the cost model", 0.0, False, [m("doc.no_plan")]))
        out.append(("quoted numbers match the plan", 0.0, False, [m("doc.no_plan")]))
        return out
    ev, gate, claims = check(CLUSTER, MODEL, WORKLOAD, plan)
    if gate:
        out.append(("the plan is feasible", 0.0, False, [m("plan.infeasible", count=len(gate)), *gate[:6]]))
        out.append(("the plan's claims match the cost model", 0.0, False, [m("doc.plan_infeasible")]))
        out.append(("quoted numbers match the plan", 0.0, False, [m("doc.plan_infeasible")]))
        return out
    feasible = m("doc.feasible", tps=f"{ev.tokens_per_s:,.0f}", iter=f"{ev.iter_s:.2f}")
    out.append(("the plan is feasible", 1.0, True, [feasible]))
    out.append(
        (
            "the plan's claims match the cost model",
            0.0 if claims else 1.0,
            not claims,
            claims[:4] if claims else [m("doc.claims_ok")],
        )
    )
    out.append(_quoted_numbers(_prose(text), figures(ev)))
    return out


def _quoted_numbers(prose: str, expected: dict[str, float]) -> tuple[str, float, bool, list[dict]]:
    wrong, right, seen = [], 0, set()
    for unit, pattern in UNITS:
        for match in pattern.finditer(prose):
            value = float(match.group(1).replace(",", ""))
            seen.add(unit)
            if abs(value - expected[unit]) <= CLAIM_TOLERANCE * expected[unit]:
                right += 1
            else:
                quote = repr(match.group(0).strip())
                wrong.append(m("doc.quoted_item", quote=quote, value=f"{expected[unit]:,.4g}", unit=unit))
    absent = [u for u in REQUIRED_FIGURES if u not in seen]
    total = right + len(wrong) + len(absent)
    score = right / total if total else 0.0
    problems = []
    if wrong:
        problems += [m("doc.quoted_wrong"), *wrong[:6]]
    if absent:
        problems.append(m("doc.not_quoted", units=", ".join(absent)))
    return ("quoted numbers match the plan", score, not problems, problems or [m("doc.figures_checked", count=right)])
