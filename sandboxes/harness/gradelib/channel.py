"""Framed messages over the checker's socket and the tensor encoding they carry.

A frame is: 4-byte header length, a JSON header, 4-byte blob count, then each blob as 8-byte length + bytes.
The checker decodes what the candidate sends with hard size caps and without pickle: a hostile peer can at
worst send malformed data, which raises ProtocolError.
"""

from __future__ import annotations

import json
import socket
import struct
import time

MAX_HEADER_BYTES = 1 << 20
MAX_FRAME_BYTES = 256 << 20


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


class ChannelClosed(Exception):
    """The peer closed the connection (usually: the process died)."""


def send(sock: socket.socket, header: dict, blobs: list[bytes] | tuple[bytes, ...] = ()) -> None:
    head = json.dumps(header, allow_nan=True).encode()
    parts = [struct.pack("!I", len(head)), head, struct.pack("!I", len(blobs))]
    for blob in blobs:
        parts.append(struct.pack("!Q", len(blob)))
        parts.append(blob)
    sock.settimeout(None)
    sock.sendall(b"".join(parts))


def recv(sock: socket.socket, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """Read one frame; deadline is a time.monotonic() value (None waits forever)."""
    reader = _Reader(sock, deadline)
    (head_len,) = struct.unpack("!I", reader.read(4))
    if head_len > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {head_len} bytes is too large")
    try:
        header = json.loads(reader.read(head_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed header: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    (count,) = struct.unpack("!I", reader.read(4))
    if count > 4096:
        raise ProtocolError(f"{count} blobs is too many")
    blobs, total = [], 0
    for _ in range(count):
        (size,) = struct.unpack("!Q", reader.read(8))
        total += size
        if total > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame larger than {MAX_FRAME_BYTES} bytes")
        blobs.append(reader.read(size))
    return header, blobs


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float | None):
        self.sock = sock
        self.deadline = deadline

    def read(self, size: int) -> bytes:
        chunks, remaining = [], size
        while remaining:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise ChannelTimeout()
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(min(remaining, 1 << 20))
            except TimeoutError:
                raise ChannelTimeout() from None
            except OSError as exc:
                raise ChannelClosed(str(exc)) from None
            if not chunk:
                raise ChannelClosed("connection closed")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


# ---- tensors -----------------------------------------------------------------------------------------------
# Imported lazily so that the frame code above stays usable without torch.


def _dtypes():
    import torch

    return {
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "float32": torch.float32,
        "float64": torch.float64,
        "int8": torch.int8,
        "uint8": torch.uint8,
        "int16": torch.int16,
        "int32": torch.int32,
        "int64": torch.int64,
        "bool": torch.bool,
    }


def dtype_name(dtype) -> str:
    for name, value in _dtypes().items():
        if value == dtype:
            return name
    raise ProtocolError(f"unsupported dtype {dtype}")


def dtype_of(name: str):
    """The torch dtype named by dtype_name (a dtype sent as an argument)."""
    dtypes = _dtypes()
    if name not in dtypes:
        raise ProtocolError(f"unsupported dtype {name!r}")
    return dtypes[name]


def tensor_bytes(t) -> bytes:
    """The raw bytes of t's elements in row-major order (any dtype, any layout)."""
    import torch

    flat = t.detach().contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    if flat.device.type != "cpu":  # the GPU runtime: copy to the host (this also waits for the device)
        flat = flat.cpu()
    return flat.view(torch.uint8).numpy().tobytes()


def tensor_from_bytes(data: bytes, dtype_str: str, shape: list[int]):
    import torch

    dtypes = _dtypes()
    if dtype_str not in dtypes:
        raise ProtocolError(f"unsupported dtype {dtype_str!r}")
    if not isinstance(shape, list) or not all(isinstance(s, int) and 0 <= s < 1 << 40 for s in shape):
        raise ProtocolError(f"bad shape {shape!r}")
    dtype = dtypes[dtype_str]
    numel = 1
    for s in shape:
        numel *= s
    itemsize = torch.empty((), dtype=dtype).element_size()
    if numel * itemsize != len(data):
        raise ProtocolError(f"{len(data)} bytes do not hold {numel} elements of {dtype_str}")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape)
