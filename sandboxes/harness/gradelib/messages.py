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
    # -- plain-Python plans (cluster_plan, L3) ----------------------------------------------------------------
    "grade.score": N_("score %(score)s"),
    "plan.detail": N_("%(detail)s"),
    "plan.not_json": N_("the result is not plain JSON data: %(error)s"),
    "plan.check_failed": N_("the result could not be checked: %(error)s"),
    "plan.infeasible": N_("infeasible: the plan breaks %(count)s rule(s)"),
    # -- training plans (plan_training, replan_after_failure, the design document's plan) ---------------------
    "train.not_dict": N_("the plan must be a dict, got %(type)s"),
    "train.meshes": N_("'meshes' must be a non-empty list of {group, tp, cp, ep, dp, pp}"),
    "train.mesh_keys": N_("mesh %(index)s must have exactly the keys %(keys)s"),
    "train.unknown_group": N_("mesh %(index)s names group %(group)s, which is not in the cluster"),
    "train.group_twice": N_("group %(group)s appears in two meshes; use one mesh per group"),
    "train.not_positive": N_("mesh %(index)s (%(group)s): tp, cp, ep, dp and pp must be positive integers"),
    "train.cp_ep": N_("mesh %(index)s (%(group)s): cp and ep must be 1 (dense model, no context parallelism)"),
    "train.tp_node": N_(
        "mesh %(index)s (%(group)s): tp=%(tp)s must divide the %(devices)s devices of one node (tensor parallelism "
        "stays inside a node)"
    ),
    "train.tp_heads": N_(
        "mesh %(index)s (%(group)s): tp=%(tp)s must divide the %(heads)s heads and %(kv_groups)s KV groups"
    ),
    "train.devices": N_("mesh %(index)s (%(group)s): tp*dp*pp = %(used)s devices, but the group has %(have)s"),
    "train.same_dp": N_("every mesh must use the same dp (one data-parallel degree for the pipeline); got %(dps)s"),
    "train.split_type": N_("'hetero_pipeline_layer_split' must be a list of integers, one per pipeline stage"),
    "train.split_len": N_("the layer split has %(entries)s entries but the meshes have %(stages)s pipeline stages"),
    "train.split_empty_stage": N_("every pipeline stage needs at least one layer"),
    "train.split_sum": N_("the layer split sums to %(total)s, but the model has %(layers)s layers"),
    "train.micro_batch": N_("'micro_batch' must be a positive integer"),
    "train.batch_divides": N_("global batch %(gbs)s is not divisible by dp*micro_batch = %(product)s"),
    "train.too_few_micro": N_(
        "%(m)s micro-batches per iteration are fewer than the %(p)s pipeline stages (need m >= p)"
    ),
    "train.recompute": N_("'recompute' must be one of %(choices)s"),
    "train.bool": N_("'%(key)s' must be true or false"),
    "train.tied": N_("with tied embeddings the first and last mesh must use the same tp (FlagScale rule)"),
    "train.memory": N_(
        "stage %(stage)s on %(group)s needs %(need)s GiB of %(have)s (model states %(states)s, activations %(acts)s)"
    ),
    "train.claimed_missing": N_("'claimed' is missing: state mem_gib_per_stage, iter_s and tokens_per_s"),
    "train.claimed_mem_len": N_("claimed mem_gib_per_stage must list %(stages)s numbers, one per stage"),
    "train.claimed_mem": N_("claimed memory of stage %(stage)s is %(claimed)s GiB; the cost model gives %(actual)s"),
    "train.claimed": N_("claimed %(key)s is %(claimed)s; the cost model gives %(actual)s %(unit)s"),
    "train.claims_off": N_("claims off by more than 2%%"),
    "train.throughput": N_(
        "%(tps)s tokens/s = %(ratio)s of the reference planner (p=%(p)s, d=%(d)s, m=%(m)s, iteration %(iter)s s)"
    ),
    "replan.infeasible": N_("infeasible on what is left: the plan breaks %(count)s rule(s)"),
    "replan.summary": N_(
        "%(tps)s tokens/s = %(ratio)s of the reference planner, %(kept)s of layers kept; value %(value)s = "
        "%(of_best)s of the best"
    ),
    "replan.resharded": N_("'resharded' is %(stated)s, but the stages holding moved layers are %(actual)s"),
    # -- the design document (plan_document) -----------------------------------------------------------------
    "doc.files": N_("expected one document, found %(count)s files"),
    "doc.too_large": N_("the document is larger than %(kb)s KB"),
    "doc.not_utf8": N_("the document is not UTF-8 text"),
    "doc.all_passed": N_("all %(total)s checks passed; mentors grade the argument"),
    "doc.some_passed": N_("%(passed)s of %(total)s checks passed"),
    "doc.sections_ok": N_("all present"),
    "doc.sections_missing": N_("missing a heading for: %(names)s"),
    "doc.no_json": N_("no ```json block with the plan was found"),
    "doc.bad_json": N_("the ```json block is not valid JSON: %(error)s"),
    "doc.no_plan": N_("no plan to check"),
    "doc.plan_infeasible": N_("the plan is infeasible"),
    "doc.feasible": N_("%(tps)s tokens/s, %(iter)s s per iteration"),
    "doc.claims_ok": N_("within 2%%"),
    "doc.quoted_wrong": N_("do not match the plan within 2%%"),
    "doc.quoted_item": N_("%(quote)s (the plan gives %(value)s %(unit)s)"),
    "doc.not_quoted": N_("not quoted: %(units)s"),
    "doc.figures_checked": N_("%(count)s figures checked"),
    # -- plan_inference: the gates (each names the rule and the amount) and the score ------------------------
    "serve.not_a_plan": N_(
        "the plan must be a dict with a non-empty 'instances' list of {group, tp, count, role} and an optional "
        "'routing'"
    ),
    "serve.too_many": N_("the plan has %(count)s instance entries; at most %(limit)s are allowed"),
    "serve.plan_keys": N_("the plan has keys other than instances and routing: %(keys)s"),
    "serve.entry_keys": N_("instance entry %(index)s must have the keys group, tp, count and, optionally, role"),
    "serve.unknown_group": N_("instance entry %(index)s names group %(group)s, which is not in the cluster"),
    "serve.not_positive": N_("instance entry %(index)s (%(group)s): tp and count must be positive integers"),
    "serve.unknown_role": N_(
        "instance entry %(index)s (%(group)s): role %(role)s is not one of colocated, prefill, decode"
    ),
    "serve.tp_divides": N_(
        "instance entry %(index)s (%(group)s): tp=%(tp)s must divide a node's %(devices)s devices, the %(heads)s "
        "heads and the %(kv_groups)s KV groups"
    ),
    "serve.cannot_hold": N_(
        "a TP%(tp)s %(role)s instance on %(group)s cannot hold one %(tokens)s-token request: the weights and its "
        "KV cache need %(need)s GiB of %(have)s"
    ),
    "serve.devices": N_("group %(group)s: the instances use %(used)s devices, but it has %(have)s"),
    "serve.budget": N_("the instances cost %(cost)s per hour, over the budget of %(budget)s"),
    "serve.pool_incomplete": N_(
        "a prefill/decode split needs both prefill and decode instances; this plan has no %(missing)s instances"
    ),
    "serve.routing_needed": N_(
        "the plan has colocated and prefill/decode instances: 'routing' must give each pool's share of the requests"
    ),
    "serve.routing_shape": N_(
        "'routing' must be a dict of the shares 'colocated' and 'disaggregated', numbers from 0 to 1"
    ),
    "serve.routing_sum": N_("the routing shares sum to %(total)s, not 1"),
    "serve.pool_empty": N_("the routing sends %(share)s of the requests to the %(pool)s pool, which has no instances"),
    "serve.goodput": N_(
        "goodput %(goodput)s (%(good)s of %(requests)s requests met both targets; TTFT met by %(ttft)s, TPOT by "
        "%(tpot)s) = %(ratio)s of the reference allocation"
    ),
    # -- chip_profile (L2): the launch check against the chip's profile, its judges and its calls -------------
    "chip.launch": N_("launch %(index)s (%(kernel)s) on %(chip)s: %(problem)s"),
    "chip.too_many_launches": N_("more than %(count)s kernel launches in one call"),
    "chip.warps_ignored": N_("num_warps=%(warps)s passed, but this chip ignores num_warps (do not pass it)"),
    "chip.warps_not_allowed": N_("num_warps=%(warps)s is not one of the allowed %(allowed)s"),
    "chip.default_warps_not_allowed": N_("num_warps=%(warps)s (the default) is not one of the allowed %(allowed)s"),
    "chip.threads": N_("num_warps·warp_size = %(warps)s·%(warp_size)s = %(threads)s > max_threads_per_program %(max)s"),
    "chip.stages": N_("num_stages=%(stages)s > num_stages_max %(max)s"),
    "chip.not_pow2": N_("%(name)s=%(value)s is not a power of two"),
    "chip.block_over": N_("%(name)s=%(value)s > max_block_numel %(max)s"),
    "chip.tile_numel": N_("block %(dims)s = %(numel)s elements > max_block_numel %(max)s"),
    "chip.onchip": N_("tile %(used)s > on-chip %(onchip)s"),
    "chip.no_grid": N_("its grid could not be evaluated"),
    "chip.grid": N_("grid axis %(axis)s has %(n)s programs > max_grid[%(axis)s] %(cap)s"),
    "chip.dtype": N_("argument %(name)s is %(dtype)s, which this chip does not have"),
    "chip.index_span": N_(
        "argument %(name)s spans %(span)s elements ≥ max_index %(max)s (this chip has no int64: split the launch)"
    ),
    "chip.expected_raise": N_("returned a tensor; expected %(error)s to be raised"),
    "chip.raised_as_required": N_("raised %(error)s as required"),
    "chip.raised_other": N_("expected %(expected)s, but raised %(error)s"),
    "chip.wrong_dtype": N_("output dtype is %(got)s, expected %(expected)s"),
    "chip.exact_mismatch": N_(
        "%(count)s of %(total)s elements differ; first at index %(index)s: got %(got)s, expected %(expected)s"
    ),
    "chip.ok_exact": N_("ok (exact)"),
    "chip.bf16_dtype": N_("output dtype is %(got)s, expected int16 (bf16 bits)"),
    "chip.bf16_rounding": N_(
        "only %(exact)s of the output bits equal round-to-nearest-even of the fp32 result (at least %(required)s "
        "required): truncating instead of rounding?"
    ),
    "chip.bit_exact": N_("%(share)s bit-exact"),
    "chip.reads_name": N_(
        "reads '.name': choose from the profile's capabilities, never from a chip's name (hidden profiles have "
        "meaningless names); printing it is allowed"
    ),
    "chip.names_chip": N_("the string %(text)s names a chip profile: do not branch on it"),
    "chip.call_raised": N_("%(call)s raised %(error)s"),
    "chip.call_output": N_("%(call)s: %(detail)s"),
    # -- tuned_mm: mm_config's config checked against the prompt's rules, and mm's launches against it -------
    "mm.not_dict": N_("returned %(type)s, expected a dict like tune_configs.yaml's entries"),
    "mm.unexpected_keys": N_("unexpected keys %(keys)s (allowed: META, num_warps, num_stages)"),
    "mm.meta_keys": N_("META must hold exactly BLOCK_M, BLOCK_N and BLOCK_K"),
    "mm.not_integers": N_("BLOCK_M, BLOCK_N, BLOCK_K and num_stages must be integers"),
    "mm.warps_ignored": N_("num_warps=%(warps)s, but this chip ignores num_warps (leave it out)"),
    "mm.warps_missing": N_("num_warps is missing (this chip uses it)"),
    "mm.dot_min": N_("%(name)s=%(value)s < dot_min[%(index)s] = %(least)s (the smallest tile tl.dot accepts)"),
    "mm.tile_numel": N_("tile %(dims)s = %(numel)s elements > max_block_numel %(max)s"),
    "mm.threads": N_("num_warps·warp_size = %(threads)s > max_threads_per_program %(max)s"),
    "mm.stages": N_("num_stages=%(stages)s is outside 1..num_stages_max %(max)s"),
    "mm.footprint": N_(
        "footprint (BM·BK + BK·BN)·elem·stages + BM·BN·4 = (%(bm)s·%(bk)s + %(bk)s·%(bn)s)·%(elem)s·%(stages)s + "
        "%(bm)s·%(bn)s·4 = %(used)s > on-chip %(onchip)s"
    ),
    "mm.wave": N_(
        "wave rule: cdiv(M, BLOCK_M)·cdiv(N, BLOCK_N) = %(programs)s programs < compute_units %(units)s, though "
        "dot_min tiles would give %(least)s"
    ),
    "mm.small_bucket": N_("small-M bucket: M=%(m)s <= %(small)s needs BLOCK_M = dot_min[0] = %(least)s, got %(got)s"),
    "mm.large_bucket": N_(
        "large-M bucket: M=%(m)s >= %(large)s keeps BLOCK_M = dot_min[0] = %(got)s, though a legal config with a "
        "taller tile exists"
    ),
    "mm.config_problem": N_("mm_config(M=%(m)s, N=%(n)s, K=%(k)s, %(dtype)s) on %(chip)s: %(problem)s"),
    "mm.config_ok": N_("ok: %(config)s"),
    "mm.buckets_ok": N_("ok: M=%(small)s -> %(first)s, M=%(large)s -> %(second)s"),
    "mm.same_config": N_("the same config for M=%(small)s and M=%(large)s (keep a small-M bucket): %(problem)s"),
    "mm.launch_block": N_("%(name)s=%(got)s, but mm_config returned %(name)s=%(want)s for this shape"),
    "mm.launch_warps": N_("num_warps=%(got)s, but mm_config returned num_warps=%(want)s"),
    "mm.launch_stages": N_("num_stages=%(got)s, but mm_config returned num_stages=%(want)s"),
    "mm.launch_programs": N_("%(programs)s programs, expected cdiv(M, BLOCK_M)·cdiv(N, BLOCK_N) = %(expected)s"),
    # -- migrate_block: the forward's taps and output, and op_record -----------------------------------------
    "block.missing_taps": N_("missing tap(s) %(missing)s (the forward must return all of %(taps)s)"),
    "block.unknown_taps": N_("unknown tap(s) %(unknown)s (the taps are %(taps)s)"),
    "block.tap_shape": N_("tap %(name)s has shape %(got)s, expected %(expected)s (%(meaning)s)"),
    "block.output": N_("output: %(detail)s"),
    "block.end_to_end": N_("end to end: ||out - ref|| / ||ref|| = %(error)s > %(bound)s against the float64 block"),
    "block.ok": N_("ok: %(count)s taps and the output within tolerance; end to end %(error)s"),
    "record.keys": N_(
        "expected a dict with exactly the keys 'replaced' (a list of op names) and 'unused' (op -> reason)"
    ),
    "record.replaced_type": N_("'replaced' must be a list of aten op names (strings)"),
    "record.unused_type": N_("'unused' must map aten op names to a reason (a string)"),
    "record.strange": N_("%(ops)s: not ops of the block's torch forward (its ops: %(known)s)"),
    "record.both": N_("%(ops)s: listed both as replaced and as unused"),
    "record.computing": N_(
        "%(ops)s left out, but these ops compute: every computation of the forward must run in your kernels"
    ),
    "record.missing": N_("%(ops)s: neither replaced nor left out with a reason"),
    "record.no_reason": N_("%(ops)s: give a reason (at least %(least)s characters) for every op left out"),
    "record.problem": N_("op_record on %(chip)s: %(problem)s"),
    "record.ok": N_("replaced %(replaced)s; unused %(unused)s"),
    "record.ok_none": N_("replaced %(replaced)s; unused none"),
    # -- the platform's own: why the process backend could not grade (certplatform/sandbox/candidate_access.py) -
    "host.no_interpreter": N_(
        "Grading is not possible: the candidate user (uid %(uid)d) cannot run the Python interpreter "
        "%(path)s, because %(blocked)s is private (mode %(mode)s). Set SANDBOX_PYTHON=/usr/bin/python3 "
        "(with torch and triton installed), or a virtualenv made from the system Python outside any "
        "private home directory (/usr/bin/python3 -m venv /opt/certplatform-sandbox), and restart "
        "the worker. This submission is not counted."
    ),
    "host.no_harness": N_(
        "Grading is not possible: the candidate user (uid %(uid)d) cannot read the grading harness %(path)s, "
        "because %(blocked)s is private (mode %(mode)s). Put the checkout where other users can read it "
        "(not under a private home directory), or grade with the docker backend. This submission is not counted."
    ),
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
