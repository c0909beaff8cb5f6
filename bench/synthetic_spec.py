"""Synthetic specs of any size that pass every lint, for the generator and diff benchmarks.

    python3 bench/synthetic_spec.py --functions 2000 --revision 0 -o /tmp/syn_v1.yaml
    python3 bench/synthetic_spec.py --functions 2000 --revision 1 -o /tmp/syn_v2.yaml

`build(n, revision=0)` returns the spec as plain data, `to_yaml()` renders it and
`write_synthetic(path, n, revision=0)` writes it. The spec has one handle type per ten
functions (create, destroy and eight methods that exercise every field of the spec language:
ranges, allowed values, string rules, out-buffers with `len`, bool results with
`false_means`, thread-safety classes), plus the four role functions every artefact needs.

`revision=1` is the next major version of `revision=0`: deterministic edits spread over the
whole spec (removed, added and deprecated functions, narrowed and widened ranges, nullability,
ownership, thread-safety and error-set changes, doc edits), so a diff of the two exercises most
classification rules at scale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_PER_HANDLE = 10
ERROR_CODES = [
    ("SUCCESS", 0, "OK", "Success", 200, False),
    ("ERROR_INVALID_DEVICE", 1, "INVALID_DEVICE", "Invalid device", 500, False),
    ("ERROR_OUT_OF_MEMORY", 2, "VRAM_OOM", "Insufficient memory", 503, True),
    ("ERROR_LOAD_FAILED", 3, "LOAD_FAILED", "Loading failed", 500, False),
    ("ERROR_RUN_FAILED", 4, "RUN_FAILED", "Execution failed", 500, False),
    ("ERROR_INVALID_PARAMETER", 5, "INVALID_PARAMETER", "Invalid function parameter", 400, False),
    ("ERROR_CANCELLED", 9, "CANCELLED", "Cancelled", 499, False),
    ("ERROR_UNKNOWN", 99, "UNKNOWN", "Unknown error", 500, False),
]
_ERR = {"name": "error_code", "type": "int*", "direction": "out", "nullable": True,
        "written": "always", "doc": "Receives the result code; may be NULL."}


def _errors(prefix: str) -> dict[str, Any]:
    up = prefix.upper()
    return {
        "enum": "SynErrorCode", "extensible": True,
        "doc": "Stable error codes of the synthetic interface.",
        "codes": [{"name": f"{up}{n}", "value": v, "key": k, "message": m, "http_status": h,
                   "retriable": r, "doc": f"{m}."} for n, v, k, m, h, r in ERROR_CODES],
        "unrecognized_message": "Unrecognized error code",
        "violation": "INVALID_PARAMETER",
    }


def _handle_functions(prefix: str, k: int, parent: str | None) -> tuple[dict[str, Any], list]:
    h, obj = f"Obj{k}", f"{prefix}obj{k}"
    first = ([{"name": "parent", "type": f"{parent}*", "direction": "in",
               "doc": "The parent object."}] if parent else
             [{"name": "device", "type": "int", "direction": "in", "range": {"min": 0},
               "on_violation": "INVALID_DEVICE", "doc": "Device ordinal."}])
    self_ = {"name": "obj", "type": f"{h}*", "direction": "in", "doc": f"The {h}."}
    create = {
        "name": f"{obj}_create", "group": f"g{k % 7}", "since": "1.0.0",
        "doc": f"Create an {h}.", "requirements": [f"M0-S-{1000 + k}"],
        "params": [*first, {"name": "path", "type": "const char*", "direction": "in",
                            "string": {"utf8": True, "min_bytes": 1}, "doc": "Source path."}, _ERR],
        "returns": {"type": f"{h}*", "ownership": "transferred", "nullable": True,
                    "on_error": "NULL", "doc": f"The new {h}."},
        "errors": ["INVALID_PARAMETER", "LOAD_FAILED", "VRAM_OOM", "UNKNOWN"]
        + ([] if parent else ["INVALID_DEVICE"]),
        "thread_safety": {"class": "safe"},
    }
    destroy = {
        "name": f"{obj}_destroy", "group": f"g{k % 7}", "since": "1.0.0",
        "doc": f"Destroy an {h} and everything it owns.",
        "params": [{**self_, "nullable": True, "ownership": "transferred",
                    "doc": f"The {h}; NULL is a no-op."}],
        "returns": {"type": "void"}, "errors": [],
        "thread_safety": {"class": "externally_synchronized", "sync_on": ["obj"]},
    }
    methods = [
        {"name": f"{obj}_run", "doc": f"Run the {h} with a budget and a temperature.",
         "params": [self_,
                    {"name": "budget", "type": "int", "direction": "in",
                     "range": {"min": 1, "max": 2048}, "doc": "Step budget."},
                    {"name": "temperature", "type": "float", "direction": "in",
                     "range": {"min": 0.0, "max": 2.0, "finite": True}, "doc": "Temperature."},
                    _ERR],
         "returns": {"type": "void"}, "errors": ["INVALID_PARAMETER", "RUN_FAILED", "UNKNOWN"],
         "thread_safety": {"class": "externally_synchronized", "sync_on": ["obj"]}},
        {"name": f"{obj}_next", "doc": f"Produce the next piece of output of the {h}.",
         "params": [self_,
                    {"name": "out", "type": "char*", "direction": "out", "len": "out_size",
                     "written": "when_true", "doc": "Receives the piece."},
                    {"name": "out_size", "type": "int", "direction": "in", "range": {"min": 1},
                     "doc": "Capacity of out."},
                    {"name": "index", "type": "int*", "direction": "out", "nullable": True,
                     "written": "when_true", "doc": "Receives the index; may be NULL."}, _ERR],
         "returns": {"type": "bool", "false_means": "the output has ended", "on_error": "false",
                     "doc": "true when a piece was written."},
         "errors": ["INVALID_PARAMETER", "RUN_FAILED", "CANCELLED", "UNKNOWN"],
         "thread_safety": {"class": "externally_synchronized", "sync_on": ["obj"],
                           "concurrent_with": [f"{obj}_cancel"]}},
        {"name": f"{obj}_cancel", "doc": f"Ask the {h} to stop.",
         "params": [self_, _ERR], "returns": {"type": "void"},
         "errors": ["INVALID_PARAMETER", "UNKNOWN"],
         "thread_safety": {"class": "externally_synchronized", "sync_on": ["obj"],
                           "concurrent_with": [f"{obj}_next"]}},
        {"name": f"{obj}_bytes", "doc": f"Bytes held by the {h}.",
         "params": [self_, _ERR],
         "returns": {"type": "uint64_t", "on_error": "0", "doc": "The byte count."},
         "errors": ["INVALID_PARAMETER", "UNKNOWN"], "thread_safety": {"class": "safe"}},
        {"name": f"{obj}_check", "doc": f"Check that the {h} is healthy.",
         "params": [self_, _ERR],
         "returns": {"type": "bool", "false_means": "unhealthy; the detail says why",
                     "on_error": "false", "doc": "true when healthy."},
         "errors": ["INVALID_PARAMETER", "UNKNOWN"], "thread_safety": {"class": "safe"}},
        {"name": f"{obj}_set_mode", "doc": f"Select the mode of the {h}.",
         "params": [self_, {"name": "mode", "type": "int", "direction": "in", "allowed": [
             {"value": 0, "name": f"OBJ{k}_MODE_OFF", "doc": "Off."},
             {"value": 1, "name": f"OBJ{k}_MODE_ON", "doc": "On."}], "doc": "The mode."}, _ERR],
         "returns": {"type": "void"}, "errors": ["INVALID_PARAMETER", "UNKNOWN"],
         "thread_safety": {"class": "externally_synchronized", "sync_on": ["obj"]}},
        {"name": f"{obj}_name", "doc": f"The name of the {h}.",
         "params": [self_, _ERR],
         "returns": {"type": "const char*", "ownership": "borrowed", "nullable": True,
                     "on_error": "NULL", "doc": "Valid until the next call on this thread."},
         "errors": ["INVALID_PARAMETER", "UNKNOWN"], "thread_safety": {"class": "safe"}},
        {"name": f"{obj}_write", "doc": f"Write a value into the {h}.",
         "params": [self_, {"name": "value", "type": "uint64_t*", "direction": "inout",
                            "doc": "The value; receives the previous one."}, _ERR],
         "returns": {"type": "void"}, "errors": ["INVALID_PARAMETER", "UNKNOWN"],
         "thread_safety": {"class": "externally_synchronized", "sync_on": ["obj"]}},
    ]
    for m in methods:
        m.update(group=f"g{k % 7}", since="1.0.0")
    handle = {"name": h, "doc": f"Synthetic object number {k}.", "created_by": create["name"],
              "destroyed_by": destroy["name"], "thread_safety": "externally_synchronized"}
    if parent:
        handle["parent"] = parent
    return handle, [create, destroy, *methods]


def _role_functions(prefix: str) -> list[dict[str, Any]]:
    """The four functions whose bodies the generator writes (every artefact needs them)."""
    def fn(role: str, doc: str, params: list[dict[str, Any]], ownership: str) -> dict[str, Any]:
        return {"name": f"{prefix}{role}", "role": role, "group": "g0", "since": "1.0.0",
                "doc": doc, "params": params,
                "returns": {"type": "const char*", "ownership": ownership,
                            "doc": "Never NULL."},
                "errors": [], "thread_safety": {"class": "safe"}}
    return [
        fn("error_message", "The pinned message of an error code.",
           [{"name": "error_code", "type": "int", "direction": "in", "doc": "Any value."}],
           "static"),
        fn("last_error_detail", "Detail of the last failure on this thread.", [], "borrowed"),
        fn("contract_version", "The contract version of the library.", [], "static"),
        fn("contract_hash", "The contract hash of the library.", [], "static"),
    ]


def build(n_functions: int = 2000, revision: int = 0, prefix: str = "syn_") -> dict[str, Any]:
    """A lint-clean spec with about `n_functions` functions: whole handles of ten functions
    each, plus the four role functions every generated artefact needs."""
    n_handles = max(1, -(-(n_functions - 4) // FUNCTIONS_PER_HANDLE))
    handles, functions = [], []
    for k in range(n_handles):
        parent = f"Obj{k - 1}" if k % 4 else None  # parent chains of depth four
        h, fns = _handle_functions(prefix, k, parent)
        handles.append(h)
        functions.extend(fns)
    functions.extend(_role_functions(prefix))
    data: dict[str, Any] = {
        "spec_format": 1,
        "interface": {
            "name": "synthetic_ffi", "title": "Synthetic FFI", "version": "1.0.0",
            "c_prefix": prefix, "doc": "A synthetic interface for benchmarks.",
            "header": {"path": "native/include/synthetic_ffi.h", "guard": "SYNTHETIC_FFI_H",
                       "api_macro": "SYNTHETIC_FFI_API",
                       "includes": ["stdbool.h", "stddef.h", "stdint.h"]},
            "error_out_param": "error_code",
            "consumers": [{"team": "Bench", "contact": "bench", "uses": "everything"}],
            "principles": ["Synthetic."],
        },
        # Every artefact the worker gets, the C++ boundary included.
        "targets": {"cpp": {"namespace": "synthetic"}},
        "groups": [{"name": f"g{i}", "title": f"Group {i}", "doc": f"Group {i}."}
                   for i in range(7)],
        "errors": _errors(prefix),
        "handles": handles,
        "functions": functions,
        "changelog": [{"version": "1.0.0", "date": "2026-01-01", "changes": ["First version."]}],
    }
    if revision:
        _revise(data, prefix)
    return data


def _revise(data: dict[str, Any], prefix: str) -> None:
    """Deterministic edits that make revision 1 the next major version of revision 0."""
    data["interface"]["version"] = "2.0.0"
    data["changelog"].append({"version": "2.0.0", "date": "2026-02-01",
                              "changes": ["Synthetic revision."]})
    fns: list[dict[str, Any]] = data["functions"]
    by_name = {f["name"]: f for f in fns}
    n_handles = len(data["handles"])
    for k in range(n_handles):
        obj = f"{prefix}obj{k}"
        edit = k % 10
        if edit == 0:
            by_name[f"{obj}_run"]["params"][1]["range"] = {"min": 1, "max": 1024}   # narrowed
        elif edit == 1:
            by_name[f"{obj}_run"]["params"][1]["range"] = {"min": 0, "max": 4096}   # widened
        elif edit == 2:
            by_name[f"{obj}_next"]["params"][3]["nullable"] = False                 # tightened
        elif edit == 3:
            by_name[f"{obj}_bytes"]["thread_safety"] = {"class": "externally_synchronized",
                                                        "sync_on": ["obj"]}
        elif edit == 4:
            by_name[f"{obj}_check"]["errors"].insert(1, "RUN_FAILED")
        elif edit == 5:
            by_name[f"{obj}_name"]["doc"] = f"The display name of the Obj{k}."
        elif edit == 6:
            by_name[f"{obj}_name"]["deprecated"] = {"since": "2.0.0", "reason": "Unused."}
        elif edit == 7:
            by_name[f"{obj}_create"]["errors"].remove("LOAD_FAILED")
        elif edit == 8:
            by_name[f"{obj}_write"]["params"][1]["ownership"] = "transferred"
        else:
            fns.remove(by_name[f"{obj}_write"])
            fns.append({**by_name[f"{obj}_bytes"], "name": f"{obj}_bytes_peak", "since": "2.0.0",
                        "doc": f"Peak bytes held by the Obj{k}."})


def to_yaml(data: dict[str, Any]) -> str:
    header = "# yaml-language-server: $schema=./schema.json\n# Synthetic spec for benchmarks.\n"
    return header + yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)


def write_synthetic(path: str | Path, n_functions: int = 2000, revision: int = 0) -> Path:
    """Write the synthetic spec of about `n_functions` functions to `path`; return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_yaml(build(n_functions, revision)), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=2000, help="about how many functions")
    parser.add_argument("--revision", type=int, default=0, choices=(0, 1),
                        help="0: version 1.0.0; 1: the edited 2.0.0")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = to_yaml(build(args.functions, args.revision))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
