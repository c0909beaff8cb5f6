"""Fuzz the GGUF loader through the real library: corrupt model files must give
MODEL_LOAD_FAILED (or load, if the corruption happens to be benign) and never crash.

The `asan` nox session runs this file with 10,000 examples against the ASan+UBSan build
(`WORKER_FFI_LIBRARY=native/build/asan/libworker_ffi.so`, libasan preloaded), so an
out-of-bounds read in the parser aborts the run instead of passing silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import worker_ffi
from conformance import models

EXAMPLES = int(os.environ.get("WORKER_FFI_FUZZ_EXAMPLES", "300"))
LIBRARY = os.environ.get("WORKER_FFI_LIBRARY")


@pytest.fixture(scope="module")
def seed_model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("fuzz-seed")
    models.write_all(out)
    return (out / "tiny.gguf").read_bytes()


@pytest.fixture(scope="module")
def ctx() -> object:
    lib = worker_ffi.load(path=LIBRARY) if LIBRARY else worker_ffi.load()
    with lib.init(0) as context:
        yield context


@st.composite
def corrupted(draw: st.DrawFn, seed: bytes) -> bytes:
    """The valid model with a few realistic corruptions: overwritten bytes (counts, sizes,
    offsets, string lengths), truncation, or inserted garbage; sometimes pure noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=512))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["overwrite", "truncate", "insert", "u64"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "overwrite":
            data[pos:pos + 1] = bytes([draw(st.integers(0, 255))])
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:  # a little-endian length or count replaced by an extreme value
            value = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1]))
            data[pos:pos + 8] = value.to_bytes(8, "little")
        if not data:
            break
    return bytes(data)


def test_corrupt_models_never_crash(seed_model: bytes, ctx: worker_ffi.Context,
                                    tmp_path: Path) -> None:
    path = tmp_path / "fuzz.gguf"
    baseline = ctx.get_process_vram_usage()
    seen = {"files": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(corrupted(seed_model))
    def run(blob: bytes) -> None:
        path.write_bytes(blob)
        seen["files"] += 1
        try:
            model = ctx.load_model(str(path))
        except worker_ffi.ModelLoadFailedError as exc:
            assert exc.detail, "a rejected model must say why"
            seen["refused"] += 1
        else:
            model.close()
        assert ctx.get_process_vram_usage() == baseline

    run()
    print(f"loader fuzz: {seen['files']} files, {seen['refused']} refused with MODEL_LOAD_FAILED")
    assert seen["files"] >= EXAMPLES and seen["refused"] > seen["files"] // 2
