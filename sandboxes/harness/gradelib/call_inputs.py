"""What a call of the candidate's function is made of, and what the guards saw it do: both runners (the CPU
interpreter's and the GPU timing loop) build the arguments and report the broken rules the same way."""

from __future__ import annotations


def build_args(header: dict, blobs: list[bytes], device: str = "cpu"):
    import torch

    from .channel import dtype_of, tensor_from_bytes

    buffers = []

    def build(spec):
        if spec["kind"] == "value":
            return spec["value"]
        if spec["kind"] == "profile":  # a chip_profile task's ChipProfile (public module in the image)
            from chipprofile import ChipProfile

            return ChipProfile.from_wire(spec["value"])
        if spec["kind"] == "dtype":
            return dtype_of(spec["value"])
        if spec["kind"] == "block":  # migrate_block's module, built from its weights without initialisation
            import tinyblock

            return tinyblock.build(spec["config"], {name: build(w) for name, w in spec["weights"].items()})
        buf = tensor_from_bytes(blobs[spec["blob"]], spec["dtype"], [spec["storage_numel"]])
        if device != "cpu":  # the whole padded buffer moves, so the NaN guards around the view come along
            buf = buf.to(device)
        buffers.append(buf)
        return torch.as_strided(buf, spec["shape"], spec["stride"], spec["offset"])

    args = [build(s) for s in header["args"]]
    kwargs = {k: build(s) for k, s in header["kwargs"].items()}
    apply = None if header.get("apply") is None else [build(s) for s in header["apply"]]
    return args, kwargs, buffers, apply


def violations(record, before, guard_ok: bool, phase: str) -> list[dict]:
    """The rules the guards saw broken, as messages (codes and arguments) for the checker."""
    from . import guards
    from .messages import msg

    when = msg(phase)
    found = []
    if record.torch_ops:
        ops = ", ".join(f"aten.{name} x{count}" for name, count in sorted(record.torch_ops.items())[:8])
        found.append(msg("rule.torch_compute", phase=when, ops=ops).to_dict())
    patched = guards.patched_since(before)
    if patched:
        found.append(msg("rule.replaced", phase=when, names=", ".join(patched[:8])).to_dict())
    if not guard_ok:
        found.append(msg("rule.guard_disabled", phase=when).to_dict())
    return found


def resource_hint(exc: BaseException) -> str | None:
    if isinstance(exc, MemoryError):
        return "out of memory (memory limit)"
    if isinstance(exc, RecursionError):
        return "recursion limit"
    if isinstance(exc, OSError):
        return {
            27: "file size limit exceeded",
            28: "scratch disk full",
            24: "too many open files",
            11: "process limit reached",
        }.get(exc.errno)
    return None
