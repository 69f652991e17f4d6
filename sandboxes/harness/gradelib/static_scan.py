"""Static rules a triton_op submission must follow, checked on its AST before it is ever run.

The scan is the first of two layers against "compute with torch instead of Triton" and against tampering: it
keeps the submission to a small, reviewable subset of Python (kernels in Triton, host code that only
allocates, views and launches). The second layer (guards.py) watches what really happens during the call.
Everything the scan rejects comes with a line number and a reason the candidate can act on.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

ALLOWED_MODULES = frozenset({"torch", "triton", "triton.language", "math", "typing", "functools", "__future__"})

# torch.<name> that host code may use: allocation, dtypes and introspection, never computation.
TORCH_HOST_API = frozenset(
    {
        "empty",
        "empty_like",
        "empty_strided",
        "zeros",
        "zeros_like",
        "full",
        "full_like",
        "Tensor",
        "Size",
        "device",
        "dtype",
        "finfo",
        "iinfo",
        "is_tensor",
        "is_floating_point",
        "no_grad",
        "inference_mode",
        "float16",
        "half",
        "bfloat16",
        "float32",
        "float",
        "float64",
        "double",
        "int8",
        "uint8",
        "int16",
        "int32",
        "int64",
        "long",
        "int",
        "bool",
    }
)
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
BANNED_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "open",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "breakpoint",
        "input",
        "exit",
        "quit",
        "help",
        "memoryview",
        "type",
        "__builtins__",
        "__loader__",
        "__spec__",
        "__file__",
        "__dict__",
    }
)
JIT_DECORATORS = frozenset({"jit", "autotune", "heuristics"})


@dataclass(frozen=True)
class Violation:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


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
        found.append(Violation(1, f"no top-level function named {entry!r}"))
    unique = {(v.line, v.reason): v for v in found}
    return sorted(unique.values(), key=lambda v: (v.line, v.reason))


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.modules: dict[str, str] = {}  # local alias -> module name ("tl" -> "triton.language")
        self.in_kernel = 0

    def bad(self, node: ast.AST, reason: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 1), reason))

    # -- imports ---------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                self.bad(
                    node,
                    f"import of {alias.name!r} is not allowed (allowed: {', '.join(sorted(ALLOWED_MODULES))})",
                )
                continue
            if alias.asname:
                self.modules[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.modules[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module not in ALLOWED_MODULES:
            self.bad(node, f"import from {'.' * node.level}{module!r} is not allowed")
            return
        for alias in node.names:
            full = f"{module}.{alias.name}"
            local = alias.asname or alias.name
            if alias.name == "*":
                self.bad(node, "star imports are not allowed")
            elif full in ALLOWED_MODULES:
                self.modules[local] = full
            elif module == "torch" and alias.name not in TORCH_HOST_API:
                self.bad(
                    node,
                    f"torch.{alias.name} is not allowed: use torch only to allocate outputs, "
                    "compute in a Triton kernel",
                )
            elif module == "triton" and alias.name not in TRITON_HOST_API:
                self.bad(node, f"triton.{alias.name} is not allowed")
            elif alias.name.startswith("_"):
                self.bad(node, f"import of private name {alias.name!r}")

    # -- names and attributes --------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in BANNED_NAMES or (node.id.startswith("__") and node.id != "__name__"):
            self.bad(node, f"use of {node.id!r} is not allowed")
        elif node.id in self.modules and isinstance(node.ctx, ast.Load):
            # A bare module reference (not the root of an attribute chain) would let it be aliased past the
            # scan.
            self.bad(node, f"module {node.id!r} may only be used as `{node.id}.<name>`")
        elif node.id in self.modules:
            self.bad(node, f"rebinding module name {node.id!r} is not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, root = _chain(node)
        for attr in chain:
            if attr.startswith("_"):
                self.bad(node, f"access to private attribute {attr!r} is not allowed")
                return
        if root is not None and root.id in self.modules:
            self._module_chain(node, self.modules[root.id], chain)
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                self.bad(node, f"assigning to {root.id}.{'.'.join(chain)} (monkeypatching) is not allowed")
            return  # the root Name is a legitimate module reference; do not visit it as a bare name
        if not self.in_kernel and node.attr in COMPUTE_METHODS:
            self.bad(node, f".{node.attr}() computes with torch outside a Triton kernel")
        if self.in_kernel and node.attr == "handle":
            self.bad(node, "access to interpreter internals (.handle) is not allowed")
        self.generic_visit(node)

    def _module_chain(self, node: ast.AST, module: str, chain: list[str]) -> None:
        top = module.split(".")[0]
        if module == "torch" or top == "torch":
            if self.in_kernel:
                self.bad(node, "torch may not be used inside a Triton kernel")
            elif chain and chain[0] not in TORCH_HOST_API:
                self.bad(
                    node,
                    f"torch.{chain[0]} is not allowed: use torch only to allocate outputs, compute in a Triton kernel",
                )
            elif any(attr in COMPUTE_METHODS for attr in chain[1:]):
                self.bad(node, f"torch.{'.'.join(chain)} computes with torch")
        elif module == "triton" and chain and chain[0] not in TRITON_HOST_API:
            self.bad(node, f"triton.{chain[0]} is not allowed")
        elif module == "triton.language" and chain[:1] == ["extra"]:
            self.bad(node, "triton.language.extra (libdevice) does not run in the CPU interpreter")

    # -- statements ------------------------------------------------------------------------------------------
    def visit_Global(self, node: ast.Global) -> None:
        self.bad(node, "global statements are not allowed")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.bad(node, "nonlocal statements are not allowed")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        kernel = any(_is_jit(d, self.modules) for d in node.decorator_list)
        self.in_kernel += kernel
        for statement in node.body:
            self.visit(statement)
        self.in_kernel -= kernel

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            root = _chain(base)[1] if isinstance(base, ast.Attribute) else base
            if isinstance(root, ast.Name) and root.id in self.modules:
                self.bad(node, "subclassing torch/triton types is not allowed")
        self.generic_visit(node)


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
