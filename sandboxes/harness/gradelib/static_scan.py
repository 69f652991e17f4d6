"""Static rules a triton_op submission must follow, checked on its AST before it is ever run.

The scan is the first of two layers against "compute with torch instead of Triton" and against tampering: it
keeps the submission to a small, reviewable subset of Python (kernels in Triton, host code that only
allocates, views and launches). The second layer (guards.py) watches what really happens during the call.
Everything the scan rejects comes with a line number and a reason the candidate can act on.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .host_api import BANNED_BUILTINS, TORCH_HOST_API, allocators_markdown
from .messages import Message, msg

ALLOWED_MODULES = frozenset({"torch", "triton", "triton.language", "math", "typing", "functools", "__future__"})
ALLOWED_IMPORTS = ", ".join(sorted(ALLOWED_MODULES))
TRITON_HOST_API = frozenset(
    {"jit", "cdiv", "next_power_of_2", "language", "autotune", "heuristics", "Config", "constexpr"}
)

# Tensor methods that compute. Host code may not call them on anything (types are unknown statically); kernels
# use the tl.* equivalents instead.
COMPUTE_METHODS = frozenset(
    {
        "add",
        "add_",
        "sub",
        "sub_",
        "subtract",
        "mul",
        "mul_",
        "multiply",
        "div",
        "div_",
        "divide",
        "true_divide",
        "floor_divide",
        "matmul",
        "mm",
        "bmm",
        "addmm",
        "addmm_",
        "baddbmm",
        "mv",
        "dot",
        "vdot",
        "inner",
        "outer",
        "einsum",
        "tensordot",
        "linear",
        "exp",
        "exp_",
        "exp2",
        "expm1",
        "log",
        "log_",
        "log2",
        "log1p",
        "sqrt",
        "sqrt_",
        "rsqrt",
        "rsqrt_",
        "tanh",
        "tanh_",
        "erf",
        "erf_",
        "sigmoid",
        "sigmoid_",
        "softmax",
        "log_softmax",
        "sum",
        "nansum",
        "mean",
        "nanmean",
        "max",
        "min",
        "amax",
        "amin",
        "maximum",
        "minimum",
        "norm",
        "pow",
        "pow_",
        "square",
        "var",
        "std",
        "cumsum",
        "cumprod",
        "prod",
        "clamp",
        "clamp_",
        "clip",
        "abs",
        "abs_",
        "neg",
        "neg_",
        "reciprocal",
        "reciprocal_",
        "relu",
        "relu_",
        "gelu",
        "silu",
        "where",
        "lerp",
        "addcmul",
        "addcdiv",
        "logsumexp",
        "softplus",
        "numpy",
        "tolist",
        "item",
        "apply_",
        "map_",
        "masked_fill",
        "masked_fill_",
        "masked_scatter",
        "scatter",
        "scatter_add",
        "index_add",
        "index_add_",
        "sort",
        "topk",
        "kthvalue",
        "rms_norm",
        "layer_norm",
        "normalize",
        "fmod",
        "remainder",
        "sin",
        "cos",
        "atan",
        "hardtanh",
        "format",
        "format_map",
    }
)
TRITON_ALLOWED = ", triton.".join(sorted(TRITON_HOST_API))
BANNED_TEXT = ", ".join(BANNED_BUILTINS)
JIT_DECORATORS = frozenset({"jit", "autotune", "heuristics"})


BANNED = frozenset(BANNED_BUILTINS)
ALLOCATORS_TEXT = allocators_markdown().replace("`", "")


@dataclass(frozen=True)
class Violation:
    line: int
    why: Message = field(compare=False)

    @property
    def reason(self) -> str:
        return self.why.text

    @property
    def message(self) -> Message:
        return msg("scan.line", line=self.line, reason=self.why)

    def __str__(self) -> str:
        return self.message.text


class SubmissionSyntaxError(Exception):
    """The submission is not valid Python."""


def scan(source: str, entry: str, filename: str = "submission.py") -> list[Violation]:
    """Return every rule the source breaks (empty when it is acceptable). Raises SubmissionSyntaxError."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SubmissionSyntaxError(f"line {exc.lineno}: {exc.msg}") from None
    visitor = _Scanner()
    visitor.visit(tree)
    found = list(visitor.violations)
    if not any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry for node in tree.body):
        found.append(Violation(1, msg("scan.no_entry", entry=repr(entry))))
    unique = {(v.line, v.reason): v for v in found}
    return sorted(unique.values(), key=lambda v: (v.line, v.reason))


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.modules: dict[str, str] = {}  # local alias -> module name ("tl" -> "triton.language")
        self.in_kernel = 0
        # Local names of the enclosing functions, innermost last. A banned builtin's name is harmless where a
        # function binds it locally: Python then never falls back to the builtin (an unbound local raises).
        # Module and class scopes do not count: a name bound there only conditionally still reaches builtins.
        self.function_locals: list[frozenset[str]] = []

    def bad(self, node: ast.AST, code: str, **args) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 1), msg(code, **args)))

    # -- imports ---------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                self.bad(node, "scan.import", module=repr(alias.name), allowed=ALLOWED_IMPORTS)
                continue
            if alias.asname:
                self.modules[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.modules[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module not in ALLOWED_MODULES:
            self.bad(node, "scan.import_from", module=repr("." * node.level + module), allowed=ALLOWED_IMPORTS)
            return
        for alias in node.names:
            full = f"{module}.{alias.name}"
            local = alias.asname or alias.name
            if alias.name == "*":
                self.bad(node, "scan.star_import")
            elif full in ALLOWED_MODULES:
                self.modules[local] = full
            elif module == "torch" and alias.name not in TORCH_HOST_API:
                self.bad(node, "scan.torch_host", name=alias.name, allocators=ALLOCATORS_TEXT)
            elif module == "triton" and alias.name not in TRITON_HOST_API:
                self.bad(node, "scan.triton_host", name=alias.name, allowed=TRITON_ALLOWED)
            elif alias.name.startswith("_"):
                self.bad(node, "scan.private_import", name=repr(alias.name))

    # -- names and attributes --------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("__") and node.id != "__name__":
            self.bad(node, "scan.dunder_name", name=repr(node.id))
        elif node.id in BANNED and isinstance(node.ctx, ast.Load) and not self._shadowed(node.id):
            self.bad(node, "scan.builtin", name=repr(node.id), banned=BANNED_TEXT)
        elif node.id in self.modules and isinstance(node.ctx, ast.Load):
            # A bare module reference (not the root of an attribute chain) would let it be aliased past the
            # scan.
            self.bad(node, "scan.bare_module", name=node.id)
        elif node.id in self.modules:
            self.bad(node, "scan.rebind_module", name=repr(node.id))

    def _shadowed(self, name: str) -> bool:
        return any(name in names for names in self.function_locals)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, root = _chain(node)
        for attr in chain:
            if attr.startswith("_"):
                self.bad(node, "scan.private_attribute", name=repr(attr))
                return
        if root is not None and root.id in self.modules:
            self._module_chain(node, self.modules[root.id], chain)
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                self.bad(node, "scan.monkeypatch", target=f"{root.id}.{'.'.join(chain)}")
            return  # the root Name is a legitimate module reference; do not visit it as a bare name
        if not self.in_kernel and node.attr in COMPUTE_METHODS:
            self.bad(node, "scan.compute_method", name=node.attr)
        if self.in_kernel and node.attr == "handle":
            self.bad(node, "scan.handle")
        self.generic_visit(node)

    def _module_chain(self, node: ast.AST, module: str, chain: list[str]) -> None:
        top = module.split(".")[0]
        if module == "torch" or top == "torch":
            if self.in_kernel:
                self.bad(node, "scan.torch_in_kernel")
            elif chain and chain[0] not in TORCH_HOST_API:
                self.bad(node, "scan.torch_host", name=chain[0], allocators=ALLOCATORS_TEXT)
            elif any(attr in COMPUTE_METHODS for attr in chain[1:]):
                self.bad(node, "scan.torch_compute_chain", name=".".join(chain))
        elif module == "triton" and chain and chain[0] not in TRITON_HOST_API:
            self.bad(node, "scan.triton_host", name=chain[0], allowed=TRITON_ALLOWED)
        elif module == "triton.language" and chain[:1] == ["extra"]:
            self.bad(node, "scan.libdevice")

    # -- statements ------------------------------------------------------------------------------------------
    def visit_Global(self, node: ast.Global) -> None:
        self.bad(node, "scan.global")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.bad(node, "scan.nonlocal")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        # Decorators, defaults and annotations are evaluated in the enclosing scope.
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        kernel = any(_is_jit(d, self.modules) for d in node.decorator_list)
        self.in_kernel += kernel
        self.function_locals.append(_local_names(node))
        for statement in node.body:
            self.visit(statement)
        self.function_locals.pop()
        self.in_kernel -= kernel

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self.function_locals.append(_local_names(node))
        self.visit(node.body)
        self.function_locals.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            root = _chain(base)[1] if isinstance(base, ast.Attribute) else base
            if isinstance(root, ast.Name) and root.id in self.modules:
                self.bad(node, "scan.subclass")
        self.generic_visit(node)


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """The names a function binds in its own scope: parameters and every binding in its body outside nested
    scopes (as Python decides which names are local). Comprehension targets are left out, on the safe side."""
    args = function.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    pending = list(function.body) if isinstance(function.body, list) else [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue  # its body is its own scope (its decorators cannot bind names: no walrus is that useful)
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        pending.extend(ast.iter_child_nodes(node))
    return frozenset(names)


def _chain(node: ast.Attribute) -> tuple[list[str], ast.Name | None]:
    """`a.b.c` -> (["b", "c"], Name(a)); the root is None when the chain does not start at a plain name."""
    attrs: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        attrs.append(current.attr)
        current = current.value
    attrs.reverse()
    return attrs, current if isinstance(current, ast.Name) else None


def _is_jit(decorator: ast.AST, modules: dict[str, str]) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute):
        chain, root = _chain(target)
        return root is not None and modules.get(root.id) == "triton" and chain[-1] in JIT_DECORATORS
    return isinstance(target, ast.Name) and target.id in JIT_DECORATORS
