"""Every message the harness writes for a candidate, as a code with arguments and an English template.

results.json carries the English text (the command-line contract) and, next to it, the code and arguments, so the
web app can word the same message in the reader's language: it translates these templates through its babel
catalog (they are marked with `N_` for extraction) and fills in the arguments. An argument may itself be a message
(`{"code": ..., "args": ...}`); arguments that are not messages are shown as they are (names, numbers, tracebacks).
"""

from __future__ import annotations

from dataclasses import dataclass, field


def N_(text: str) -> str:
    """Mark a template for the translation catalog without translating it here."""
    return text


TEMPLATES: dict[str, str] = {
    # -- rules of the static scan (each names the rule it applies) -------------------------------------------
    "scan.line": N_("line %(line)s: %(reason)s"),
    "scan.rules_broken": N_("the submission breaks the exam rules:\n%(violations)s"),
    "scan.import": N_("import of %(module)s is not allowed (rule: imports are limited to %(allowed)s)"),
    "scan.import_from": N_("import from %(module)s is not allowed (rule: imports are limited to %(allowed)s)"),
    "scan.star_import": N_("star imports are not allowed (rule: import names explicitly)"),
    "scan.private_import": N_("import of private name %(name)s is not allowed (rule: no names starting with '_')"),
    "scan.torch_host": N_(
        "torch.%(name)s is not allowed outside a kernel (rule: host code uses torch only to allocate, describe and "
        "view tensors; allocate with %(allocators)s; compute in a Triton kernel)"
    ),
    "scan.torch_compute_chain": N_(
        "torch.%(name)s computes with torch (rule: host code uses torch only to allocate, describe and view "
        "tensors; compute in a Triton kernel)"
    ),
    "scan.compute_method": N_(
        ".%(name)s() computes with torch outside a Triton kernel (rule: host code may not call tensor methods that "
        "compute; compute in a Triton kernel)"
    ),
    "scan.triton_host": N_("triton.%(name)s is not allowed (rule: host code may use triton.%(allowed)s)"),
    "scan.torch_in_kernel": N_("torch may not be used inside a Triton kernel (rule: kernels use triton.language)"),
    "scan.handle": N_("access to interpreter internals (.handle) is not allowed (rule: no interpreter internals)"),
    "scan.libdevice": N_(
        "triton.language.extra (libdevice) is not available (rule: the CPU interpreter cannot run libdevice; use "
        "the tl.* math functions)"
    ),
    "scan.builtin": N_(
        "use of the builtin %(name)s is not allowed (rule: no dynamic code, file access or introspection builtins: "
        "%(banned)s; a local variable of that name is fine)"
    ),
    "scan.dunder_name": N_("use of %(name)s is not allowed (rule: no names starting with '__')"),
    "scan.private_attribute": N_(
        "access to private attribute %(name)s is not allowed (rule: no attributes starting with '_')"
    ),
    "scan.bare_module": N_("module %(name)s may only be used as `%(name)s.<name>` (rule: no module aliases)"),
    "scan.rebind_module": N_("rebinding module name %(name)s is not allowed (rule: no module aliases)"),
    "scan.monkeypatch": N_(
        "assigning to %(target)s is not allowed (rule: no monkeypatching of torch, triton or other modules)"
    ),
    "scan.global": N_("global statements are not allowed (rule: no global or nonlocal state)"),
    "scan.nonlocal": N_("nonlocal statements are not allowed (rule: no global or nonlocal state)"),
    "scan.subclass": N_("subclassing torch/triton types is not allowed (rule: no subclasses of library types)"),
    "scan.no_entry": N_("no top-level function named %(entry)s (rule: define the function the task asks for)"),
    # -- the submission as a whole ----------------------------------------------------------------------------
    "grade.too_large": N_("the submission is larger than %(kb)s KB"),
    "grade.syntax": N_("the submission is not valid Python: %(error)s"),
    "grade.import_error": N_("the submission could not be imported: %(error)s"),
    "grade.all_passed": N_("all %(total)s tests passed"),
    "grade.some_passed": N_("%(passed)s of %(total)s tests passed"),
    "grade.joined": N_("%(first)s; %(second)s"),
    "grade.not_run": N_("not run: grading stopped earlier"),
    "grade.in_test": N_("%(where)s: %(detail)s"),
    "grade.flood": N_(
        "output flood: the submission wrote far more to stdout/stderr than the %(kb)s KB kept, and was stopped"
    ),
    "grade.leftover": N_(
        "rule: no processes may outlive the call; the submission left %(count)s process(es) running and they were "
        "killed"
    ),
    "grade.time_limit": N_("time limit exceeded %(what)s"),
    "grade.died": N_("the candidate process died %(what)s (%(reason)s)"),
    "grade.protocol": N_("the candidate process broke the harness protocol %(what)s"),
    "grade.resource": N_("resource limit hit: %(error)s"),
    # -- rules checked while the code runs --------------------------------------------------------------------
    "rule.torch_compute": N_(
        "rule: compute with Triton kernels, not torch; the code computed with torch instead of Triton %(phase)s "
        "(aten ops: %(ops)s)"
    ),
    "rule.replaced": N_(
        "rule: do not replace library or harness functions; the code replaced library or harness functions "
        "%(phase)s: %(names)s"
    ),
    "rule.guard_disabled": N_(
        "rule: keep the harness's torch dispatch guard; the code disabled the harness's torch dispatch guard %(phase)s"
    ),
    "rule.modified_input": N_(
        "rule: inputs are read-only; the submission modified its input tensors (allocate a new output)"
    ),
    "rule.returned_input": N_(
        "rule: return a newly allocated output; the submission returned an input tensor (or a view of one)"
    ),
    "rule.cached_result": N_(
        "rule: compute the result on every call; %(idle)s of %(calls)s repeated calls launched no Triton kernel"
    ),
    "where.test": N_("in test %(name)s"),
    "where.timing": N_("in test %(name)s (timing run)"),
    "phase.import": N_("while importing the submission"),
    "phase.call": N_("during the call"),
    "phase.timing": N_("during the timing run"),
    # -- one test ---------------------------------------------------------------------------------------------
    "test.ok": N_("ok (max abs error %(err)s, tolerance %(tol)s)"),
    "test.ok_empty": N_("ok"),
    "test.elapsed": N_("%(seconds)ss"),
    "test.raised": N_("raised %(error)s"),
    "test.no_launch": N_(
        "no Triton kernel ran for this case: the result must be computed by a @triton.jit kernel that the function "
        "launches"
    ),
    "test.wrong_dtype": N_("output dtype is %(got)s, expected %(expected)s (the input dtype)"),
    "test.wrong_shape": N_("output shape is %(got)s, expected %(expected)s"),
    "test.mismatch": N_(
        "%(count)s of %(total)s elements differ beyond the tolerance (%(tol)s); first at index %(index)s: got "
        "%(got)s, expected %(expected)s"
    ),
    "test.nans": N_("%(count)s output elements are NaN (unmasked load, or an element never written?)"),
    "test.canary": N_("wrote %(count)s bytes outside the output tensor (missing mask on tl.store?)"),
    "test.output_type": N_("returned %(type)s, expected a torch.Tensor"),
    "test.output_device": N_("returned a %(layout)s tensor on %(device)s, expected a strided %(expected)s tensor"),
    "test.output_unsupported": N_("returned an unsupported tensor: %(error)s"),
    "test.output_taps": N_("the forward returned %(type)s, expected (output tensor, dict of tap tensors)"),
    "test.in_tap": N_("tap %(tap)s: %(detail)s"),
    "test.output_data": N_(
        "returned a value that is not plain data (dicts with str keys, lists, str, int, float, bool, None): %(error)s"
    ),
    "test.tf32_hint": N_(
        "note: fp32 tl.dot is graded as IEEE fp32 on this runtime (TRITON_F32_DEFAULT=ieee), so an explicit "
        "input_precision='tf32' or allow_tf32=True is not accurate enough"
    ),
    "test.timing_skipped": N_("timing skipped: too little time left"),
    "test.timing_raised": N_("raised on a repeated call (timing run): %(error)s"),
    "test.timing_no_tensor": N_("returned no tensor on a repeated call (timing run)"),
    "test.timing_wrong": N_("wrong on a repeated call (timing run): %(detail)s"),
    "test.timing": N_("%(text)s"),
}
# How the parts of a message are joined into one line of text (the web app joins translated parts the same way).
SEPARATOR = "; "


@dataclass(frozen=True)
class Message:
    """One message: a code from TEMPLATES and its arguments (plain values or other messages)."""

    code: str
    args: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in TEMPLATES:
            raise KeyError(f"unknown message code {self.code!r}")

    @property
    def text(self) -> str:
        return render(self.to_dict())

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict:
        return {"code": self.code, "args": {k: _plain(v) for k, v in self.args.items()}}


def msg(code: str, **args) -> Message:
    return Message(code, args)


def _plain(value):
    if isinstance(value, Message):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def render(data, translate=lambda template: template, depth: int = 0) -> str:
    """The text of a message dict (or list of them, joined) with `translate` applied to every template."""
    if depth > 8:
        return ""
    if isinstance(data, list):
        return SEPARATOR.join(render(d, translate, depth + 1) for d in data)
    if not isinstance(data, dict) or data.get("code") not in TEMPLATES:
        return str(data)
    args = data.get("args") if isinstance(data.get("args"), dict) else {}
    values = {}
    for key, value in args.items():
        if isinstance(value, dict) and "code" in value:
            values[key] = render(value, translate, depth + 1)
        elif isinstance(value, list) and all(isinstance(v, dict) and "code" in v for v in value):
            values[key] = "\n".join(render(v, translate, depth + 1) for v in value)
        else:
            values[key] = value
    template = translate(TEMPLATES[data["code"]])
    try:
        return template % values
    except (KeyError, TypeError, ValueError):
        return TEMPLATES[data["code"]] % {k: values.get(k, "?") for k in _keys(TEMPLATES[data["code"]])}


def _keys(template: str) -> list[str]:
    import re

    return re.findall(r"%\((\w+)\)", template)


def valid(data, depth: int = 0) -> bool:
    """Whether data (from results.json or the candidate's channel) is a well-formed message or list of them."""
    if depth > 8:
        return False
    if isinstance(data, list):
        return len(data) <= 64 and all(valid(d, depth + 1) for d in data)
    if not isinstance(data, dict) or data.get("code") not in TEMPLATES or not isinstance(data.get("args", {}), dict):
        return False
    for value in data.get("args", {}).values():
        if isinstance(value, (dict, list)):
            if not valid(value, depth + 1):
                return False
        elif not (value is None or isinstance(value, (str, int, float, bool))):
            return False
    return set(_keys(TEMPLATES[data["code"]])) <= set(data.get("args", {}))


def parts_of(*items) -> tuple[dict, ...]:
    """The dict form of several messages (Message objects or already-dict messages), in order."""
    return tuple(i.to_dict() if isinstance(i, Message) else i for i in items if i is not None)


def text_of(parts) -> str:
    """The English text of several messages, joined as the web app joins them."""
    return render(list(parts))


def from_channel(items, fallback_code: str = "grade.protocol") -> list[dict]:
    """Messages sent by the candidate process (untrusted): kept when well-formed, otherwise shown as plain text
    inside a harness message so nothing it sends can break rendering."""
    if not isinstance(items, list):
        return []
    kept = []
    for item in items[:16]:
        if valid(item):
            kept.append(item)
        else:
            kept.append(msg(fallback_code, what=str(item)[:500]).to_dict())
    return kept
