"""`ffispec generate` and `ffispec lint`: the commands that need only the spec and the
renderers (no diff, no lock workflow beyond reading the lock state the lock document shows)."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.exitcodes import EXIT_OK
from generator.lints.declared import unchecked_note
from generator.lock.state import lock_state
from generator.render import rendered_artefacts, write_all
from generator.spec import load_spec


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(func={"generate": cmd_generate, "lint": cmd_lint}[command])


def cmd_generate(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    root = Path(args.root)
    changed = write_all(root, rendered_artefacts(spec, lock_state(spec, root)))
    for rel in changed:
        print(f"wrote {rel}")
    print(f"{len(changed)} file(s) changed; contract {spec.interface.version} "
          f"hash {spec.contract_hash[:16]}")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    print(f"ok: {args.spec}: {len(spec.functions)} functions, {len(spec.handles)} handles, "
          f"{len(spec.errors.codes)} error codes; no problems")
    note = unchecked_note(spec)
    if note is not None:
        print(f"note: {note}")
    return EXIT_OK
