"""Stand-in for the `gguf` package, covering what conformance/models.py uses of it.

Put on sys.path by bench/gpu/run_gpu.sh only when the real package is missing (the GPU
machine cannot install it). GGUFWriter collects metadata and tensors and writes them with
bench/gpu/gguf_writer.py; GGUFReader exposes, per tensor, the file position of its data
offset field in the shape models.py reads it (field.offset + the sizes of all parts but the
last).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import gguf_writer  # noqa: E402


class GGUFWriter:
    def __init__(self, path: str, arch: str) -> None:
        self._path = Path(path)
        self._metadata: dict[str, object] = {"general.architecture": arch}
        self._tensors: list[tuple[str, np.ndarray]] = []

    def add_uint32(self, key: str, value: int) -> None:
        self._metadata[key] = int(value)

    def add_string(self, key: str, value: str) -> None:
        self._metadata[key] = str(value)

    def add_token_list(self, tokens: list[str]) -> None:
        self._metadata["tokenizer.ggml.tokens"] = [str(t) for t in tokens]

    def add_tensor(self, name: str, array: np.ndarray) -> None:
        self._tensors.append((name, array))

    def write_header_to_file(self) -> None:
        pass  # everything is written at once by write_tensors_to_file

    def write_kv_data_to_file(self) -> None:
        pass

    def write_tensors_to_file(self) -> None:
        gguf_writer.write(self._path, self._metadata, self._tensors)

    def close(self) -> None:
        pass


class _Field:
    def __init__(self, start: int, offset_field: int) -> None:
        self.offset = start
        # Two parts: everything before the u64 data offset, then the offset itself.
        self.parts = [np.zeros(offset_field - start, dtype=np.uint8), np.zeros(1, dtype=np.uint64)]


class _Tensor:
    def __init__(self, name: str, field: _Field) -> None:
        self.name = name
        self.field = field


class GGUFReader:
    def __init__(self, path: str | Path) -> None:
        data = Path(path).read_bytes()
        self.tensors = [_Tensor(name, _Field(start, field)) for name, (start, field) in _tensor_infos(data).items()]


def _tensor_infos(data: bytes) -> dict[str, tuple[int, int]]:
    import struct

    def u32(at: int) -> tuple[int, int]:
        return struct.unpack_from("<I", data, at)[0], at + 4

    def u64(at: int) -> tuple[int, int]:
        return struct.unpack_from("<Q", data, at)[0], at + 8

    def string(at: int) -> tuple[str, int]:
        n, at = u64(at)
        return data[at:at + n].decode("utf-8"), at + n

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def value(kind: int, at: int) -> int:
        if kind == 8:
            return string(at)[1]
        if kind == 9:
            elem, at = u32(at)
            count, at = u64(at)
            for _ in range(count):
                at = value(elem, at)
            return at
        return at + sizes[kind]

    n_tensors, at = u64(8)
    n_kv, at = u64(at)
    for _ in range(n_kv):
        _, at = string(at)
        kind, at = u32(at)
        at = value(kind, at)
    infos = {}
    for _ in range(n_tensors):
        start = at
        name, at = string(at)
        n_dims, at = u32(at)
        at += 8 * n_dims + 4
        infos[name] = (start, at)
        at += 8
    return infos
