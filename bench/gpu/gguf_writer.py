"""A small pure-Python GGUF v3 writer (numpy only), for GPU machines without the gguf package.

bench/gpu/make_models.py writes the GPU run's models with it, and bench/gpu/gguf_fallback/
puts a `gguf` module on the path that covers the part of the gguf package's API that
conformance/models.py uses, so the conformance suite can generate its models there too.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

ALIGNMENT = 32
GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
TYPE_UINT32 = 4
TYPE_STRING = 8
TYPE_ARRAY = 9
TENSOR_F32 = 0


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _kv(key: str, value: object) -> bytes:
    if isinstance(value, int):
        return _string(key) + struct.pack("<II", TYPE_UINT32, value)
    if isinstance(value, str):
        return _string(key) + struct.pack("<I", TYPE_STRING) + _string(value)
    if isinstance(value, list):
        body = b"".join(_string(item) for item in value)
        return _string(key) + struct.pack("<IIQ", TYPE_ARRAY, TYPE_STRING, len(value)) + body
    raise TypeError(f"unsupported metadata value for {key!r}: {type(value).__name__}")


def _pad(n: int) -> int:
    return (-n) % ALIGNMENT


class Layout:
    """The bytes before the data section, and where each tensor's offset field and data are."""

    def __init__(self, metadata: dict[str, object], tensors: list[tuple[str, tuple[int, ...], int]]):
        parts = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(tensors), len(metadata))]
        parts += [_kv(key, value) for key, value in metadata.items()]
        self.info_positions: dict[str, tuple[int, int]] = {}  # name -> (info start, offset field)
        self.data_offsets: dict[str, int] = {}
        position = sum(len(p) for p in parts)
        data_offset = 0
        for name, ne, nbytes in tensors:
            info = (_string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
                    + struct.pack("<I", TENSOR_F32))
            self.info_positions[name] = (position, position + len(info))
            self.data_offsets[name] = data_offset
            info += struct.pack("<Q", data_offset)
            parts.append(info)
            position += len(info)
            data_offset += nbytes + _pad(nbytes)
        self.header = b"".join(parts)
        self.header += b"\0" * _pad(len(self.header))
        self.data_bytes = data_offset


def write(path: Path, metadata: dict[str, object], tensors: Iterable[tuple[str, object]]) -> Layout:
    """Writes a GGUF v3 file. `tensors`: (name, array) pairs of float32 arrays of numpy shape
    (rows, cols), stored with ne = [cols, rows]."""
    import numpy as np

    arrays = [(name, np.ascontiguousarray(a, dtype=np.float32)) for name, a in tensors]
    layout = Layout(metadata, [(name, tuple(reversed(a.shape)), a.nbytes) for name, a in arrays])
    with open(path, "wb") as f:
        f.write(layout.header)
        for _, a in arrays:
            f.write(a.tobytes())
            f.write(b"\0" * _pad(a.nbytes))
    return layout


def write_declared(path: Path, metadata: dict[str, object], tensors: list[tuple[str, tuple[int, ...]]],
                   fill_block: bytes | None = None) -> Layout:
    """Writes the header of F32 tensors with shapes `ne` and data that repeats `fill_block`
    (which must hold whole floats), or a sparse hole when `fill_block` is None (for models
    larger than any disk: the loader must fail before it reads them)."""
    sizes = []
    for _, ne in tensors:
        n = 4
        for dim in ne:
            n *= dim
        sizes.append(n)
    layout = Layout(metadata, [(name, ne, n) for (name, ne), n in zip(tensors, sizes, strict=True)])
    with open(path, "wb") as f:
        f.write(layout.header)
        if fill_block is None:
            f.truncate(len(layout.header) + layout.data_bytes)
            return layout
        remaining = layout.data_bytes
        while remaining > 0:
            chunk = fill_block[:remaining]
            f.write(chunk)
            remaining -= len(chunk)
    return layout
