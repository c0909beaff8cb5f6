"""Every lint rule, as a broken copy of a real spec.

Each case makes a small text edit to the worker spec (spec/worker_ffi.yaml) or the SQLite
example (examples/sqlite/spec/sqlite3.yaml, for status channels, preconditions, callbacks and
declared types), loads it the way `ffispec check` does and checks that the rule is reported
at the line of the offending node, with a hint that names the fix, and nothing else but the
findings the case lists as following from the same edit. `ffispec check` on the same file
exits 2 with the finding and no traceback.

A meta-test fails, naming the rule, when the catalogue of lint rules
(generator/lints/rules.py) has a rule without a case here, and when the lints report an ID
the catalogue lacks."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.cli import main
from generator.lints import LINT_RULES
from generator.problems import Problem, SpecError
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = {
    "worker": (ROOT / "spec" / "worker_ffi.yaml").read_text(encoding="utf-8"),
    "sqlite": (ROOT / "examples" / "sqlite" / "spec" / "sqlite3.yaml").read_text(encoding="utf-8"),
}


@dataclass(frozen=True)
class Case:
    rule: str
    name: str  # what the edit breaks
    spec: str  # a key of SPECS
    edits: tuple[tuple[str, str], ...]  # (old, new): each old text occurs once
    at: str  # text of the broken spec (once) that starts on the line the finding names
    fix: str  # text the finding's hint holds: the fix it names
    also: frozenset[str] = frozenset()  # other rules the same edit rightly reports

    @property
    def id(self) -> str:
        return f"{self.rule.removeprefix('LINT-')}/{self.name}"

    def text(self) -> str:
        text = SPECS[self.spec]
        for old, new in self.edits:
            assert text.count(old) == 1, f"{self.id}: the text to edit must occur once: {old!r}"
            text = text.replace(old, new)
        return text


def case(rule: str, name: str, spec: str, old: str | list[tuple[str, str]], new: str | None,
         at: str, fix: str, also: tuple[str, ...] = ()) -> Case:
    edits = tuple(old) if isinstance(old, list) else ((old, new or ""),)
    return Case(rule, name, spec, edits, at, fix, frozenset(also))


W, S = "worker", "sqlite"
ERROR_CODE = ('      - {name: error_code, type: "int*", direction: out, nullable: true, written: always,\n'
              '         doc: "Receives the result code; may be NULL."}\n')
GPU_DEVICE = ('      - {name: gpu_device, type: int, direction: in, range: {min: 0}, on_violation: INVALID_DEVICE,\n'
              '         doc: "Device ordinal, 0 .. cuda_get_device_count() - 1."}\n')
INIT_RETURNS = '    returns: {type: "CudaContext*", ownership: transferred, nullable: true, on_error: "NULL",'
INIT_ERRORS = "    errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM, UNKNOWN]"
WAIVED = "    applies_to: [cuda_model_get_vram_usage, cuda_get_vram_usage, cuda_get_process_vram_usage]"
PROCESS_USAGE = ("    errors: [INVALID_PARAMETER]\n    thread_safety: {class: safe}\n    notes:\n"
                 "      - \"No error channel (original signature kept): an invalid handle returns 0 and sets "
                 "cuda_last_error_detail; use")
LIBVERSION = ('    params: []\n    returns: {type: "const char*", ownership: static, doc: "A static string, '
              'never NULL."}\n    errors: []\n    thread_safety: {class: safe}\n\n  - name: sqlite3_threadsafe')
ERRMSG = '    params: [*db]\n    returns: {type: "const char*", ownership: borrowed,'
FAULT_NONE = '{value: 0, name: NONE, doc: "Clear injected faults."}'


CASES: list[Case] = [
    # ----------------------------------------------------------------- names
    case("LINT-duplicate-name", "function", W, "  - name: cuda_inference_free\n",
         "  - name: cuda_inference_start\n",
         "- name: cuda_inference_start\n    group: inference\n    since: 1.0.0\n    doc: Free",
         "remove one declaration", also=("LINT-handle-no-destroyer", "LINT-handle-creator-type")),
    case("LINT-duplicate-name", "parameter", W, '{name: vram_bytes_used, type: "uint64_t*"',
         '{name: model_path, type: "uint64_t*"', '{name: model_path, type: "uint64_t*"',
         "rename one of the parameters"),
    case("LINT-duplicate-name", "error-name", W, "{name: CUDA_ERROR_CANCELLED, value: 9,",
         "{name: CUDA_ERROR_UNKNOWN, value: 9,", "{name: CUDA_ERROR_UNKNOWN, value: 99,",
         "unique C name and string key"),
    case("LINT-duplicate-name", "handle", W, "\nmodel_format:\n",
         "  - {name: CudaContext, doc: Again., created_by: cuda_init, destroyed_by: cuda_destroy,\n"
         "     thread_safety: externally_synchronized}\n\nmodel_format:\n",
         "- {name: CudaContext, doc: Again.", "remove one declaration"),
    case("LINT-duplicate-name", "error-listed-twice", W, INIT_ERRORS,
         "    errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM, VRAM_OOM, UNKNOWN]",
         "errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM, VRAM_OOM", "list each code once"),
    case("LINT-duplicate-name", "allowed-value", W, "{value: 2, name: EVICT_WEIGHTS",
         "{value: 1, name: EVICT_WEIGHTS", "- {value: 0, name: NONE", "list each value once"),
    case("LINT-duplicate-name", "result-value", W, "{value: 3, name: CANCELLED, doc: \"cuda_",
         "{value: 2, name: CANCELLED, doc: \"cuda_", "- {value: 0, name: RUNNING", "list each value once"),
    case("LINT-duplicate-name", "role", W, "    role: contract_hash\n", "    role: contract_version\n",
         "role: contract_version\n    group: version\n    since: 1.0.0\n    doc: The sha256",
         "remove it from cuda_contract_hash or cuda_contract_version"),
    case("LINT-duplicate-name", "type", S, "  - name: sqlite3_destructor_type\n",
         "  - name: sqlite3_int64\n", "- name: sqlite3_int64\n    kind: callback",
         "remove one declaration",
         also=("LINT-dangling-reference", "LINT-unknown-type", "LINT-declaration-conflict")),
    case("LINT-duplicate-name", "enum-value", S, "\nhandles:\n",
         "  - {name: sqlite3_kind, kind: enum, doc: \"A kind.\", values: [{value: 1, name: SQLITE3_A, doc: \"A.\"},\n"
         "     {value: 1, name: SQLITE3_B, doc: \"B.\"}]}\n\nhandles:\n", "values: [{value: 1, name: SQLITE3_A",
         "list each value once"),
    case("LINT-reserved-name", "parameter", W, "{name: gpu_device, type: int", "{name: lambda, type: int",
         "{name: lambda", "rename it, e.g. lambda_"),
    case("LINT-reserved-name", "error-enum", W, "  enum: CudaErrorCode\n", "  enum: class\n",
         "enum: class", "rename it, e.g. class_"),
    case("LINT-prefix", "function", W, "  - name: cuda_testing_tracked_bytes\n",
         "  - name: testing_tracked_bytes\n", "- name: testing_tracked_bytes",
         "rename it cuda_testing_tracked_bytes"),
    case("LINT-dangling-reference", "parent", W, "    parent: CudaContext\n", "    parent: CudaCtx\n",
         "parent: CudaCtx", "did you mean 'CudaContext'?"),
    case("LINT-dangling-reference", "alias-of", W, "    alias_of: cuda_model_get_vram_usage\n",
         "    alias_of: cuda_model_vram_usage\n", "alias_of: cuda_model_vram_usage",
         "did you mean 'cuda_model_get_vram_usage'?", also=("LINT-unmarked-alias",)),
    case("LINT-dangling-reference", "replacement", W, "replacement: cuda_model_get_vram_usage,",
         "replacement: cuda_model_vram_usage,", "replacement: cuda_model_vram_usage",
         "did you mean 'cuda_model_get_vram_usage'?"),
    case("LINT-dangling-reference", "group", W, "  - name: cuda_get_device_count\n    group: context\n",
         "  - name: cuda_get_device_count\n    group: contexts\n", "group: contexts",
         "did you mean 'context'?"),
    case("LINT-dangling-reference", "exception-target", W, WAIVED,
         "    applies_to: [cuda_model_get_vram_usage, cuda_get_vram_usage, cuda_get_process_vram]",
         "applies_to: [cuda_model_get_vram_usage", "did you mean 'cuda_get_process_vram_usage'?",
         also=("LINT-fallible-needs-error-channel",)),
    case("LINT-dangling-reference", "exception-rule", W, "    rule: LINT-fallible-needs-error-channel\n",
         "    rule: LINT-fallible-needs-channel\n", "rule: LINT-fallible-needs-channel",
         "did you mean 'LINT-fallible-needs-error-channel'?",
         also=("LINT-fallible-needs-error-channel",)),
    case("LINT-dangling-reference", "fixed", S, "fixed: SQLITE_TRANSIENT,", "fixed: SQLITE_TRANSIENTS,",
         "- {name: destructor", "declare it under the `constants:` of type sqlite3_destructor_type"),
    case("LINT-dangling-reference", "interface-detail-function", S,
         "detail: {function: sqlite3_errmsg, scope: handle}",
         "detail: {function: sqlite3_errmessage, scope: handle}", "detail: {function: sqlite3_errmessage",
         "did you mean 'sqlite3_errmsg'?"),
    case("LINT-dangling-reference", "code-function", W, PROCESS_USAGE,
         "    error_channel: {kind: sentinel, code: cuda_last_error_code}\n" + PROCESS_USAGE,
         "error_channel: {kind: sentinel, code: cuda_last_error_code}", "did you mean",
         also=("LINT-target-unsupported",)),
    # ---------------------------------------------------------------- errors
    case("LINT-duplicate-error-value", "value", W, "    - {name: CUDA_ERROR_CANCELLED, value: 9,",
         "    - {name: CUDA_ERROR_CANCELLED, value: 8,", "CUDA_ERROR_CANCELLED, value: 8",
         "append a new value instead"),
    case("LINT-no-success-code", "table", W, "{name: CUDA_SUCCESS, value: 0,",
         "{name: CUDA_SUCCESS, value: 100,", "- {name: CUDA_SUCCESS", "add the success code with value 0",
         also=("LINT-unused-error",)),
    case("LINT-unknown-error", "function-errors", W, INIT_ERRORS,
         "    errors: [INVALID_DEVICE, DEVICE_NOTFOUND, VRAM_OOM, UNKNOWN]", "DEVICE_NOTFOUND",
         "did you mean 'DEVICE_NOT_FOUND'?", also=("LINT-unused-error",)),
    case("LINT-unknown-error", "success-as-error", W, INIT_ERRORS,
         "    errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM, UNKNOWN, OK]",
         "errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM, UNKNOWN, OK]", "success is never an error"),
    case("LINT-unknown-error", "on-violation", W, "on_violation: INVALID_DEVICE",
         "on_violation: INVALID_DEVIC", "- {name: gpu_device", "did you mean 'INVALID_DEVICE'?"),
    case("LINT-unknown-error", "success-list", S, "error_channel: {success: [ROW, DONE]}",
         "error_channel: {success: [ROW, DONNE]}", "error_channel: {success: [ROW, DONNE]}",
         "did you mean 'DONE'?", also=("LINT-unused-error",)),
    case("LINT-unknown-error", "success-not-marked", S,
         'key: DONE, message: "no more rows available", success: true,',
         'key: DONE, message: "no more rows available",', "error_channel: {success: [ROW, DONE]}",
         "set `success: true` on DONE"),
    case("LINT-unknown-error", "success-and-error", S, "    error_channel: {success: [ROW, DONE]}\n    errors: [ERROR,",
         "    error_channel: {success: [ROW, DONE]}\n    errors: [DONE, ERROR,",
         "error_channel: {success: [ROW, DONE]}", "list it in one place only"),
    case("LINT-unused-error", "code", W,
         "errors: [INVALID_PARAMETER, INFERENCE_FAILED, KERNEL_LAUNCH_FAILED, CANCELLED, UNKNOWN]",
         "errors: [INVALID_PARAMETER, INFERENCE_FAILED, KERNEL_LAUNCH_FAILED, UNKNOWN]",
         "- {name: CUDA_ERROR_CANCELLED", "declare it in the functions that report it"),
    case("LINT-missing-unknown", "function", W, INIT_ERRORS,
         "    errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM]",
         "errors: [INVALID_DEVICE, DEVICE_NOT_FOUND, VRAM_OOM]\n", "add UNKNOWN to errors"),
    case("LINT-http-partial", "code", W,
         'key: CANCELLED, message: "Inference cancelled",\n       http_status: 499, retriable: false,',
         'key: CANCELLED, message: "Inference cancelled",\n       http_status: 499,',
         "- {name: CUDA_ERROR_CANCELLED", "give every code both fields"),
    # ---------------------------------------------------------- error channel
    case("LINT-error-param-shape", "written", W, GPU_DEVICE + ERROR_CODE,
         GPU_DEVICE + ERROR_CODE.replace("written: always", "written: on_success"),
         "{name: error_code, type: \"int*\", direction: out, nullable: true, written: on_success",
         "`nullable: true`, `written: always`"),
    case("LINT-error-param-shape", "not-an-out-parameter", W, GPU_DEVICE + ERROR_CODE,
         GPU_DEVICE + ERROR_CODE.replace("direction: out", "direction: inout"),
         '{name: error_code, type: "int*", direction: inout', "set `direction: out`"),
    case("LINT-error-param-shape", "own-channel-names-a-missing-parameter", W, INIT_ERRORS,
         "    error_channel: {kind: out_param, param: err}\n" + INIT_ERRORS,
         "error_channel: {kind: out_param, param: err}", "add the `int* err` out-parameter"),
    case("LINT-error-param-shape", "not-last", W, GPU_DEVICE + ERROR_CODE, ERROR_CODE + GPU_DEVICE,
         ERROR_CODE + GPU_DEVICE, "move it to the end"),
    case("LINT-error-param-shape", "status-return", S, LIBVERSION,
         LIBVERSION.replace("    errors: []", "    errors: [MISUSE]"),
         'returns: {type: "const char*", ownership: static, doc: "A static string, never NULL."}\n'
         "    errors: [MISUSE]", "a status channel returns an integer code"),
    case("LINT-error-param-shape", "detail-handle-unreachable", S, LIBVERSION,
         LIBVERSION.replace('returns: {type: "const char*", ownership: static,', "returns: {type: int,")
         .replace("    errors: []", "    errors: [MISUSE]"),
         "- name: sqlite3_libversion", "give the function that handle", also=("LINT-declaration-conflict",)),
    case("LINT-error-param-shape", "detail-returns-text", S, ERRMSG, "    params: [*db]\n    returns: {type: int,",
         'returns: {type: int, doc: "Never NULL', "return `const char*`", also=("LINT-declaration-conflict",)),
    case("LINT-error-param-shape", "detail-per-handle-arity", S, ERRMSG,
         ERRMSG.replace("[*db]", '[*db, {name: n, type: int, direction: in, doc: "n"}]'),
         "params: [*db, {name: n", "give it one handle parameter", also=("LINT-declaration-conflict",)),
    case("LINT-error-param-shape", "detail-per-thread-arity", S,
         "detail: {function: sqlite3_errmsg, scope: handle}",
         "detail: {function: sqlite3_errmsg, scope: thread}",
         "params: [*db]\n    returns: {type: \"const char*\"", "remove its parameters"),
    case("LINT-fallible-no-errors", "out-param", W,
         "    errors: [INVALID_PARAMETER, UNKNOWN]\n    thread_safety: {class: externally_synchronized, "
         "sync_on: [result], concurrent_with: [cuda_inference_next_token]}",
         "    errors: []\n    thread_safety: {class: externally_synchronized, sync_on: [result], "
         "concurrent_with: [cuda_inference_next_token]}",
         "errors: []\n    thread_safety: {class: externally_synchronized, sync_on: [result], concurrent_with",
         "list the closed set of codes"),
    case("LINT-fallible-needs-error-channel", "no-out-param", W, WAIVED,
         "    applies_to: [cuda_model_get_vram_usage, cuda_get_vram_usage]",
         "errors: [INVALID_PARAMETER]\n    thread_safety: {class: safe}\n    notes:\n      - \"No error "
         "channel (original signature kept): an invalid handle returns 0 and sets cuda_last_error_detail; use",
         "add the error_code out-parameter"),
    case("LINT-fallible-needs-error-channel", "kind-none", S, "    error_channel: {success: [ROW, DONE]}\n",
         "    error_channel: {kind: none}\n", "errors: [ERROR, INTERNAL, PERM, ABORT, BUSY, LOCKED, NOMEM, "
         "READONLY, INTERRUPT, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, SCHEMA, TOOBIG, CONSTRAINT, "
         "MISMATCH, MISUSE, AUTH, NOTADB]\n    thread_safety: {class: externally_synchronized, sync_on: "
         "[stmt]}\n\n  - name: sqlite3_reset", "give it an error_channel",
         also=("LINT-on-error-missing", "LINT-unused-error")),
    case("LINT-role-missing", "sentinel", W, [
        ("    role: last_error_detail\n", ""),
        (PROCESS_USAGE, "    error_channel: {kind: sentinel}\n" + PROCESS_USAGE)], None,
         "error_channel: {kind: sentinel}", "role: last_error_detail"),
    case("LINT-role-missing", "derived-sentinel-waived", W, "    role: last_error_detail\n", "",
         "errors: [INVALID_PARAMETER]\n    thread_safety: {class: safe}\n    notes:\n      - \"No error "
         "channel (original signature kept): an invalid handle returns 0 and sets cuda_last_error_detail; use",
         "role: last_error_detail"),
    # ------------------------------------------------------------- parameters
    case("LINT-out-not-pointer", "out", W, '      - {name: vram_bytes_used, type: "uint64_t*", direction: out,',
         '      - {name: vram_bytes_used, type: "uint64_t", direction: out,', "- {name: vram_bytes_used",
         "use `uint64_t*`", also=("LINT-target-unsupported",)),
    case("LINT-out-written", "missing", W, "direction: out, written: on_success,\n", "direction: out,\n",
         "- {name: vram_bytes_used", "add `written: always | on_success | when_true`"),
    case("LINT-out-written", "on-input", W, "{name: seed, type: uint64_t, direction: in,",
         "{name: seed, type: uint64_t, direction: in, written: always,", "- {name: seed",
         "remove it or set direction: out"),
    case("LINT-out-written", "when-true-without-bool", W, "direction: out, written: on_success,\n",
         "direction: out, written: when_true,\n", "- {name: vram_bytes_used", "use on_success"),
    case("LINT-nullable-scalar", "int", W, "{name: gpu_device, type: int, direction: in,",
         "{name: gpu_device, type: int, direction: in, nullable: true,", "- {name: gpu_device",
         "remove `nullable`"),
    case("LINT-unknown-type", "parameter", W, "{name: seed, type: uint64_t,", "{name: seed, type: uint64,",
         "- {name: seed", "declare the type under `types:`"),
    case("LINT-unknown-type", "callback-parameter", S, '    params: ["void*"]\n',
         '    params: ["sqlite3_value*"]\n', "- name: sqlite3_destructor_type", "declare it under `types:`",
         also=("LINT-declaration-conflict",)),
    # The SQLite example includes <sqlite3.h> (libsqlite3-dev; the tests session installs it).
    case("LINT-declaration-conflict", "parameter-dropped", S,
         '      - {name: pzTail, type: "const char**", direction: out, nullable: true, written: on_success,\n'
         '         doc: "Receives a pointer past the end of the first statement; may be NULL."}\n', "",
         '- {name: db, type: "sqlite3*", direction: in, doc: "The connection."}\n      - {name: zSql',
         "declare it as <sqlite3.h> does"),
    case("LINT-declaration-conflict", "parameter-type", S,
         'type: "const char**", direction: out, nullable: true, written: on_success',
         'type: "char**", direction: out, nullable: true, written: on_success', 'type: "char**"',
         "declare it as <sqlite3.h> does"),
    case("LINT-declaration-conflict", "return-type", S,
         "    returns: {type: sqlite3_int64, doc: \"The value, converted.\"}",
         "    returns: {type: long, doc: \"The value, converted.\"}", "returns: {type: long",
         "declare it as <sqlite3.h> does"),
    case("LINT-declaration-conflict", "alias", S, "    type: long long\n    header: sqlite3.h",
         "    type: int\n    header: sqlite3.h", "- name: sqlite3_int64",
         "describe it as <sqlite3.h> declares it"),
    case("LINT-declaration-conflict", "callback", S, '    params: ["void*"]\n',
         '    params: ["const void*"]\n', "- name: sqlite3_destructor_type",
         "describe it as <sqlite3.h> declares it"),
    case("LINT-declaration-conflict", "handle-missing", S,
         "  - name: sqlite3_stmt\n    doc: A prepared statement of one connection.\n    header: sqlite3.h",
         "  - name: sqlite3_stmt\n    doc: A prepared statement of one connection.\n    header: sqlite3.h\n"
         "    struct_tag: sqlite3_statement", "- name: sqlite3_stmt\n    doc: A prepared",
         "set `struct_tag:` to the header's struct tag"),
    case("LINT-len-unknown", "name", W, "direction: out, len: token_buffer_size,",
         "direction: out, len: token_buffer_len,", "len: token_buffer_len", "did you mean 'token_buffer_size'?"),
    case("LINT-len-not-integer", "pointer", W, "direction: out, len: token_buffer_size,",
         "direction: out, len: token_index,", "len: token_index", "a length must be an integer"),
    case("LINT-string-rule-type", "int", W,
         '{name: nth, type: int, direction: in, range: {min: 0}, doc: "Which allocation fails; 0 disarms."}',
         '{name: nth, type: int, direction: in, range: {min: 0}, string: {utf8: true}, '
         'doc: "Which allocation fails; 0 disarms."}', "string: {utf8: true}", "use `const char*`"),
    case("LINT-range-type", "bound-exceeds-type", W, "range: {min: 1, max: 2048},",
         "range: {min: 1, max: 4294967296},", "- {name: max_tokens", "use a bound the C type can hold"),
    case("LINT-range-type", "float-without-finite", W, "range: {min: 0.0, max: 2.0, finite: true},",
         "range: {min: 0.0, max: 2.0},", "- {name: temperature", "add `finite: true`"),
    case("LINT-range-type", "finite-on-integer", W, "range: {min: 1, max: 2048},",
         "range: {min: 1, max: 2048, finite: true},", "- {name: max_tokens", "remove `finite`"),
    case("LINT-range-type", "on-pointer", W, '{name: model_path, type: "const char*", direction: in,',
         '{name: model_path, type: "const char*", direction: in, range: {min: 1},',
         "- {name: model_path", "ranges apply to integers and floats"),
    case("LINT-range-type", "allowed-on-float", S, "      - {name: value, type: double, direction: in, "
         "doc: \"The value.\"}", "      - {name: value, type: double, direction: in, allowed: [{value: 1, "
         "name: ONE, doc: \"One.\"}], doc: \"The value.\"}", "- {name: value, type: double",
         "allowed values apply to integers"),
    case("LINT-range-type", "result-values-on-float", S,
         '    returns: {type: double, doc: "The value, converted."}',
         '    returns: {type: double, doc: "The value, converted.", values: [{value: 0, name: ZERO, '
         'doc: "Zero."}]}', "values: [{value: 0, name: ZERO", "result values apply to integers"),
    case("LINT-range-empty", "min-above-max", W, "range: {min: 1, max: 2048},",
         "range: {min: 4096, max: 2048},", "- {name: max_tokens", "swap or fix the bounds",
         also=("HTTP-default-invalid",)),
    case("LINT-precondition-code", "on-violation", S, "rule: checked, on_violation: RANGE",
         "rule: precondition, on_violation: RANGE", "- &index {name: index",
         "remove on_violation, or make the rule `rule: checked`"),
    case("LINT-violation-missing", "checked-rule", S, "rule: checked, on_violation: RANGE", "rule: checked",
         "- &index {name: index", "add `on_violation: KEY`"),
    case("LINT-undeclared-violation", "on-violation", W, "on_violation: INVALID_DEVICE",
         "on_violation: MODEL_LOAD_FAILED", "- {name: gpu_device",
         "add MODEL_LOAD_FAILED to cuda_init.errors"),
    # --------------------------------------------------------------- results
    case("LINT-bool-ambiguous", "false-means", W,
         '    returns: {type: bool, false_means: "the device is unhealthy; the detail message says why",',
         "    returns: {type: bool,", 'returns: {type: bool,\n              on_error: "false", doc: "true '
         'when the device is healthy', "add `false_means:`"),
    case("LINT-on-error-missing", "pointer", W, INIT_RETURNS,
         '    returns: {type: "CudaContext*", ownership: transferred, nullable: true,',
         'returns: {type: "CudaContext*", ownership: transferred, nullable: true,\n',
         "add `on_error:` (NULL, false, 0)"),
    case("LINT-on-error-missing", "sentinel", S, LIBVERSION,
         LIBVERSION.replace("    errors: []", "    error_channel: {kind: sentinel}\n    errors: [MISUSE]"),
         'returns: {type: "const char*", ownership: static, doc: "A static string, never NULL."}\n'
         "    error_channel: {kind: sentinel}", "set returns.on_error or error_channel.sentinel",
         also=("LINT-error-param-shape",)),
    case("LINT-on-error-type", "does-not-fit", W, 'returns: {type: uint32_t, on_error: "0", doc: "The vocabulary',
         'returns: {type: uint32_t, on_error: "NULL", doc: "The vocabulary',
         'on_error: "NULL", doc: "The vocabulary', "a number for integers"),
    case("LINT-on-error-type", "bool", W, 'false_means: "the sequence has ended (EOS or max_tokens)", '
         'on_error: "false",', 'false_means: "the sequence has ended (EOS or max_tokens)", on_error: "0",',
         'on_error: "0",\n              doc: "true when a piece', "false for bool"),
    case("LINT-on-error-type", "null-not-nullable", W,
         'returns: {type: "CudaModel*", ownership: transferred, nullable: true, on_error: "NULL",',
         'returns: {type: "CudaModel*", ownership: transferred, on_error: "NULL",',
         'returns: {type: "CudaModel*"', "set `nullable: true`"),
    case("LINT-on-error-type", "also-a-success-value", W, '      on_error: "-1"\n', '      on_error: "1"\n',
         'on_error: "1"', "pick an error result outside the success values"),
    case("LINT-ownership-missing", "pointer-result", W,
         '    returns: {type: "const char*", ownership: static,\n              doc: "A static string, never '
         'NULL; \\"Unrecognized', '    returns: {type: "const char*",\n              doc: "A static string, '
         'never NULL; \\"Unrecognized', 'returns: {type: "const char*",\n',
         "set returns.ownership: borrowed | transferred | static"),
    # --------------------------------------------------------------- handles
    case("LINT-handle-no-creator", "name", W, "    created_by: cuda_init\n", "    created_by: cuda_initialise\n",
         "created_by: cuda_initialise", "did you mean 'cuda_init'?"),
    case("LINT-handle-creator-type", "returns-int", W, "    created_by: cuda_init\n",
         "    created_by: cuda_get_device_count\n", 'returns: {type: int, doc: "The device count',
         "returns `CudaContext*`"),
    case("LINT-handle-creator-type", "not-transferred", W, INIT_RETURNS,
         INIT_RETURNS.replace("ownership: transferred", "ownership: borrowed"),
         'returns: {type: "CudaContext*", ownership: borrowed', "set returns.ownership: transferred"),
    case("LINT-handle-no-destroyer", "name", W, "    destroyed_by: cuda_unload_model",
         "    destroyed_by: cuda_unload_modle", "destroyed_by: cuda_unload_modle",
         "did you mean 'cuda_unload_model'?"),
    case("LINT-handle-destroyer-type", "other-handle", W, "    destroyed_by: cuda_unload_model",
         "    destroyed_by: cuda_destroy", '- {name: ctx, type: "CudaContext*", direction: in, nullable: true',
         "make the first parameter `CudaModel*`"),
    case("LINT-destroyer-not-nullable", "nullable", W,
         '      - {name: ctx, type: "CudaContext*", direction: in, nullable: true, ownership: transferred,',
         '      - {name: ctx, type: "CudaContext*", direction: in, ownership: transferred,',
         '- {name: ctx, type: "CudaContext*", direction: in, ownership: transferred,', "set `nullable: true`"),
    case("LINT-destroyer-not-nullable", "ownership", W,
         '{name: model, type: "CudaModel*", direction: in, nullable: true, ownership: transferred,',
         '{name: model, type: "CudaModel*", direction: in, nullable: true,',
         '- {name: model, type: "CudaModel*", direction: in, nullable: true,\n',
         "set `ownership: transferred`"),
    # --------------------------------------------------- functions and versions
    case("LINT-unmarked-alias", "alias-of-removed", W, "    alias_of: cuda_model_get_vram_usage\n", "",
         "- name: cuda_get_vram_usage", "add `alias_of: cuda_model_get_vram_usage`"),
    case("LINT-alias-signature", "return-type", W,
         '    returns: {type: uint64_t, on_error: "0", doc: "Same as cuda_model_get_vram_usage."}',
         '    returns: {type: uint32_t, on_error: "0", doc: "Same as cuda_model_get_vram_usage."}',
         "alias_of: cuda_model_get_vram_usage", "same parameter and return types"),
    case("LINT-since-after-version", "function", W, "    since: 1.0.0\n    doc: Destroy a context",
         "    since: 1.2.0\n    doc: Destroy a context", "since: 1.2.0", "bump interface.version or fix `since`"),
    case("LINT-thread-safety-reference", "unknown-function", W, "concurrent_with: [cuda_inference_cancel]}",
         "concurrent_with: [cuda_inference_abort]}", "cuda_inference_abort", "did you mean",
         also=("LINT-thread-safety-asymmetric",)),
    case("LINT-thread-safety-reference", "unknown-parameter", W,
         "    thread_safety: {class: externally_synchronized, sync_on: [ctx]}\n\n  - name: cuda_get_device_count",
         "    thread_safety: {class: externally_synchronized, sync_on: [context]}\n\n"
         "  - name: cuda_get_device_count", "sync_on: [context]", "did you mean 'ctx'?"),
    case("LINT-thread-safety-reference", "nothing-to-sync-on", W,
         "    thread_safety: {class: externally_synchronized, sync_on: [ctx]}\n\n  - name: cuda_get_device_count",
         "    thread_safety: {class: externally_synchronized}\n\n  - name: cuda_get_device_count",
         "thread_safety: {class: externally_synchronized}\n", "add `sync_on: [param]`"),
    case("LINT-thread-safety-asymmetric", "concurrent-with", W,
         "sync_on: [result], concurrent_with: [cuda_inference_next_token]}", "sync_on: [result]}",
         "thread_safety: {class: externally_synchronized, sync_on: [result], concurrent_with: [cuda_inference_cancel]}",
         "add cuda_inference_next_token to cuda_inference_cancel.thread_safety.concurrent_with"),
    # ------------------------------------------------------ types and targets
    case("LINT-type-shape", "missing-part", S, "    kind: alias\n    type: long long\n", "    kind: enum\n",
         "- name: sqlite3_int64", "add values, or change the kind", also=("LINT-unknown-type",)),
    case("LINT-type-shape", "extra-part", S, "    kind: alias\n    type: long long\n",
         "    kind: alias\n    type: long long\n    returns: int\n", "returns: int\n", "remove returns"),
    case("LINT-target-unsupported", "python-callback", S, "fixed: SQLITE_TRANSIENT,\n", "\n",
         "- {name: destructor", "give a callback `fixed: CONSTANT`"),
    case("LINT-target-unsupported", "boundary-status-channel", W, PROCESS_USAGE,
         "    error_channel: {kind: status}\n" + PROCESS_USAGE, "error_channel: {kind: status}",
         "set targets.cpp.enabled: false"),
    case("LINT-target-unsupported", "boundary-out-handle", W, ERROR_CODE + '    returns: {type: "CudaModel*"',
         '      - {name: out, type: "CudaModel**", direction: out, written: on_success, doc: "The model."}\n'
         + ERROR_CODE + '    returns: {type: "CudaModel*"', '- {name: out, type: "CudaModel**"',
         "return the handle, or set targets.cpp.enabled: false"),
]


def _line(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def _write(tmp_path: Path, c: Case) -> tuple[Path, str]:
    text = c.text()
    path = tmp_path / f"{c.spec}.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value.problems


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_broken_spec_reports_the_rule_at_the_line_with_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], c: Case) -> None:
    path, text = _write(tmp_path, c)
    assert text.count(c.at) == 1, f"the expected line's text must occur once: {c.at!r}"
    line = _line(text, c.at)
    found = _problems(path)
    report = "\n".join(p.render() for p in found)
    hits = [p for p in found if p.rule == c.rule and p.location.line == line]
    assert hits, f"{c.rule} not reported at line {line}:\n{report}"
    assert any(c.fix in p.hint for p in hits), f"no hint names the fix {c.fix!r}:\n{report}"
    assert {p.rule for p in found} <= {c.rule, *c.also}, f"unexpected findings:\n{report}"
    assert len({(p.rule, p.location, p.message) for p in found}) == len(found), \
        f"a finding is reported more than once:\n{report}"
    for p in found:
        assert not p.rule.startswith("SPEC-"), f"the edit broke the schema, not a lint rule:\n{report}"
        assert p.location.file == str(path) and p.hint and p.message, p.render()
    # `ffispec check` on the same file: exit 2, the finding at file:line, no traceback.
    assert main(["check", "--spec", str(path), "--root", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert f"{path}:{line}:" in out.err and f"error[{c.rule}]" in out.err, out.err
    assert "Traceback" not in out.err + out.out


# One case of each spec and of each kind of finding (names, errors, channels, parameters,
# results, handles, types and targets), through a real `ffispec check` process.
CLI_SAMPLE = ["duplicate-name/function", "unknown-error/success-list", "error-param-shape/not-last",
              "range-type/bound-exceeds-type", "on-error-type/does-not-fit", "handle-no-creator/name",
              "type-shape/missing-part", "target-unsupported/python-callback"]


@pytest.mark.parametrize("case_id", CLI_SAMPLE)
def test_ffispec_check_exits_2_without_a_traceback(tmp_path: Path, case_id: str) -> None:
    c = next(c for c in CASES if c.id == case_id)
    path, text = _write(tmp_path, c)
    proc = subprocess.run([sys.executable, "-m", "generator", "check", "--spec", str(path),
                           "--root", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:{_line(text, c.at)}:" in proc.stderr and f"error[{c.rule}]" in proc.stderr
    assert "hint: " in proc.stderr


def test_every_lint_rule_has_a_case() -> None:
    covered = {c.rule for c in CASES}
    missing = sorted(set(LINT_RULES) - covered)
    assert not missing, f"lint rules without a broken-spec case in this catalogue: {missing}"
    unknown = sorted(covered - set(LINT_RULES))
    assert not unknown, f"cases for rules the catalogue (generator/lints/rules.py) lacks: {unknown}"
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids are unique"


def _rule_ids_in_source() -> dict[str, set[str]]:
    """Every LINT-... string literal in the generator's code, by the file it is in."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "generator").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() == "generator/lints/rules.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(r"LINT-[a-z0-9-]+", node.value):
                found.setdefault(node.value, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_the_lints_report_only_catalogued_rules_and_every_rule_is_reported_somewhere() -> None:
    in_source = _rule_ids_in_source()
    stray = {rule: sorted(files) for rule, files in in_source.items() if rule not in LINT_RULES}
    assert not stray, f"rule IDs used in the generator but missing from generator/lints/rules.py: {stray}"
    dead = sorted(set(LINT_RULES) - set(in_source))
    assert not dead, f"catalogued rules no lint reports (remove them): {dead}"
    assert all(summary.strip() for summary in LINT_RULES.values())


def test_an_unregistered_rule_id_is_refused() -> None:
    from generator.lints import common
    from generator.problems import Location

    with pytest.raises(KeyError, match="LINT-made-up"):
        common.problem("LINT-made-up", "msg", Location("spec.yaml", 1, 1), (), "hint")
