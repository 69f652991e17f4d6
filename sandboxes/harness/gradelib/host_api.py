"""What host code (outside kernels) of a triton_op submission may use: the one source for the static scan, the
run-time guard and the exam prompts (content validation checks that every triton_op prompt lists exactly these).

Pure data, standard library only: the web app reads it too, without torch.
"""

from __future__ import annotations

# torch.<name> that allocate a tensor, with the aten ops they reach the dispatcher as (the run-time guard lets
# exactly these through, outside kernel launches). None of them computes from an input's values.
TORCH_ALLOCATORS: dict[str, tuple[str, ...]] = {
    "empty": ("empty.memory_format",),
    "empty_like": ("empty_like.default",),
    "empty_strided": ("empty_strided.default",),
    "zeros": ("zeros.default", "zero_.default"),
    "zeros_like": ("zeros_like.default", "zero_.default"),
    "ones": ("ones.default", "fill_.Scalar"),
    "ones_like": ("ones_like.default", "fill_.Scalar"),
    "full": ("full.default", "fill_.Scalar"),
    "full_like": ("full_like.default", "fill_.Scalar"),
}
# Tensor methods that allocate a new tensor (with the tensor's dtype and device unless told otherwise).
TENSOR_ALLOCATORS: dict[str, tuple[str, ...]] = {
    "new_empty": ("new_empty.default",),
    "new_empty_strided": ("new_empty_strided.default",),
    "new_zeros": ("new_zeros.default", "zero_.default"),
    "new_ones": ("new_ones.default", "fill_.Scalar"),
    "new_full": ("new_full.default", "fill_.Scalar"),
}
# torch.<name> that describe or configure, never compute: dtypes, layouts, type tests, numeric limits, grad modes.
TORCH_DESCRIBE = frozenset(
    {
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
        "contiguous_format",
        "preserve_format",
        "strided",
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
TORCH_HOST_API = frozenset(TORCH_ALLOCATORS) | TORCH_DESCRIBE

# Builtins a submission may not call or refer to: dynamic code, files, introspection and interaction. A local
# variable with one of these names (`input = tl.load(...)`) shadows the builtin and is fine.
BANNED_BUILTINS = (
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
)


def allocators_markdown() -> str:
    """The allocation functions as every triton_op prompt lists them (in both languages)."""
    names = [f"`torch.{n}`" for n in TORCH_ALLOCATORS] + [f"`x.{n}`" for n in TENSOR_ALLOCATORS]
    return ", ".join(names)


def banned_builtins_markdown() -> str:
    """The banned builtins as every triton_op prompt lists them."""
    return ", ".join(f"`{n}`" for n in BANNED_BUILTINS)


def allocator_ops() -> frozenset[str]:
    """The aten ops of every allowed allocation."""
    return frozenset(op for ops in (*TORCH_ALLOCATORS.values(), *TENSOR_ALLOCATORS.values()) for op in ops)
