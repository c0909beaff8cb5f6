"""Generated Python bindings for a spec unlike the worker's, against a small C library compiled
here: a sentinel channel with a code function and per-thread detail, a text out-buffer sized
by `capacity`, a `void*` buffer with a length in/out, scalar out and in/out values, an optional
string, and a precondition refused before the call."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from ffispec_runtime import PreconditionError
from generator.cli import main

SPEC = """\
spec_format: 1
interface:
  name: buf
  version: 1.0.0
  c_prefix: buf_
  doc: Buffers of every shape.
  header: {path: include/buf.h, guard: BUF_H, api_macro: BUF_API}
  error_channel: {kind: sentinel, code: buf_last_code, detail: {function: buf_last_detail}}
  rules: precondition   # the C code does not check pointers; the bindings never pass bad ones
targets:
  mode: contract_first
  python: {package: buf_ffi, error_base: BufError}
  cpp: {enabled: false}
  rust: {enabled: false}
groups:
  - {name: buf, title: Buffers}
errors:
  codes:
    - {name: BUF_OK, value: 0, key: OK, message: "ok"}
    - {name: BUF_TOO_SMALL, value: 1, key: TOO_SMALL, message: "buffer too small"}
    - {name: BUF_EMPTY, value: 2, key: EMPTY, message: "empty input"}
functions:
  - name: buf_greet
    group: buf
    since: 1.0.0
    doc: Write a greeting.
    params:
      - {name: who, type: "const char*", direction: in, nullable: true, doc: "A name, or NULL."}
      - {name: out, type: "char*", direction: out, len: cap, capacity: 16, written: on_success,
         doc: "Receives the greeting."}
      - {name: cap, type: size_t, direction: in, doc: "Capacity of out."}
    returns: {type: int, on_error: "-1", doc: "The length written."}
    errors: [TOO_SMALL]
    thread_safety: {class: safe}
  - name: buf_bytes
    group: buf
    since: 1.0.0
    doc: Write seed, seed+1, ... as bytes.
    params:
      - {name: seed, type: uint8_t, direction: in, range: {min: 0, max: 200}, rule: precondition,
         doc: "The first byte; 0 fails with EMPTY."}
      - {name: data, type: "void*", direction: out, len: size, capacity: 8, written: on_success,
         doc: "Receives the bytes."}
      - {name: size, type: "size_t*", direction: inout, doc: "Capacity in, length out."}
    returns: {type: int, on_error: "-1", doc: "0."}
    errors: [EMPTY]
    thread_safety: {class: safe}
  - name: buf_divmod
    group: buf
    since: 1.0.0
    doc: Divide and accumulate.
    params:
      - {name: a, type: "long long", direction: in, doc: "Dividend."}
      - {name: b, type: "long long", direction: in, range: {min: 1}, rule: precondition, doc: "Divisor."}
      - {name: quotient, type: "long long*", direction: out, written: always, doc: "a / b."}
      - {name: acc, type: "long long*", direction: inout, doc: "Increased by a % b."}
    returns: {type: void}
    errors: []
    thread_safety: {class: safe}
  - {name: buf_last_code, group: buf, since: 1.0.0, doc: "Code of the thread's last failure.",
     params: [], returns: {type: int, doc: "The code."}, errors: [], thread_safety: {class: safe}}
  - {name: buf_last_detail, group: buf, since: 1.0.0, doc: "Text of the thread's last failure.",
     params: [], returns: {type: "const char*", ownership: borrowed, doc: "Never NULL."}, errors: [],
     thread_safety: {class: safe}}
"""

IMPLEMENTATION = r"""
#include <stdio.h>
#include <string.h>
#include "buf.h"

static _Thread_local int last_code;
static _Thread_local char last_detail[64];

static int fail(int code, const char* detail) {
    last_code = code;
    snprintf(last_detail, sizeof last_detail, "%s", detail);
    return -1;
}

int buf_greet(const char* who, char* out, size_t cap) {
    char text[64];
    int n = snprintf(text, sizeof text, "hello %s", who ? who : "world");
    last_code = 0;
    if ((size_t)n + 1 > cap) return fail(BUF_TOO_SMALL, "the greeting needs more room");
    memcpy(out, text, (size_t)n + 1);
    return n;
}

int buf_bytes(uint8_t seed, void* data, size_t* size) {
    unsigned char* bytes = data;
    last_code = 0;
    if (seed == 0) return fail(BUF_EMPTY, "seed 0 makes nothing");
    size_t n = *size < 5 ? *size : 5;
    for (size_t i = 0; i < n; i++) bytes[i] = (unsigned char)(seed + i);
    *size = n;
    return 0;
}

void buf_divmod(long long a, long long b, long long* quotient, long long* acc) {
    *quotient = a / b;
    *acc += a % b;
}

int buf_last_code(void) { return last_code; }
const char* buf_last_detail(void) { return last_detail; }
"""


@pytest.fixture(scope="module")
def buf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("buf")
    (root / "spec").mkdir()
    (root / "spec" / "buf.yaml").write_text(SPEC)
    assert main(["generate", "--spec", str(root / "spec" / "buf.yaml"), "--root", str(root)]) == 0
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to build the test library")
    (root / "buf.c").write_text(IMPLEMENTATION)
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fPIC",
                    "-shared", f"-I{root / 'include'}", str(root / "buf.c"), "-o",
                    str(root / "libbuf.so")], check=True)
    (root / "buf_ffi" / "__init__.py").write_text("")
    sys.path.insert(0, str(root))
    try:
        gen = importlib.import_module("buf_ffi._generated")
        gen.LIB = gen.open_library(root / "libbuf.so")  # type: ignore[attr-defined]
        yield gen
    finally:
        sys.path.remove(str(root))


def test_text_out_buffer_and_optional_string(buf: ModuleType) -> None:
    lib = buf.LIB
    assert lib.greet(None) == "hello world"
    assert lib.greet("ann") == "hello ann"


def test_sentinel_failure_reads_code_and_detail(buf: ModuleType) -> None:
    with pytest.raises(buf.TooSmallError) as info:
        buf.LIB.greet("a name longer than sixteen bytes")
    assert info.value.code == 1 and info.value.detail == "the greeting needs more room"
    assert info.value.function == "buf_greet" and isinstance(info.value, buf.BufError)


def test_void_buffer_with_length_in_out_is_bytes(buf: ModuleType) -> None:
    assert buf.LIB.bytes(7) == bytes([7, 8, 9, 10, 11])
    with pytest.raises(buf.EmptyError, match="seed 0 makes nothing"):
        buf.LIB.bytes(0)


def test_out_and_in_out_values_are_returned(buf: ModuleType) -> None:
    assert buf.LIB.divmod(17, 5, 100) == (3, 102)


def test_preconditions_are_refused_before_the_call(buf: ModuleType) -> None:
    with pytest.raises(PreconditionError, match="undefined behaviour"):
        buf.LIB.divmod(1, 0, 0)  # a division by zero in C, never reached
    with pytest.raises(PreconditionError):
        buf.LIB.bytes(201)
