"""The `ffispec` command line. Exit status: a bit mask, see generator/exitcodes.py: 0 ok;
1 internal error; 2 invalid spec or usage; 4 drift (stale artefacts, or a spec changed since the
lock without the version bump it needs); 8 a breaking change without a major version bump."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from generator import __version__
from generator.diff.source import load_spec_with_lines
from generator.exitcodes import EXIT_DRIFT, EXIT_INTERNAL, EXIT_OK, EXIT_SPEC
from generator.loader import PROJECT_ROOT
from generator.lock import cli as lockcli
from generator.lock import gate
from generator.lock.state import lock_state
from generator.problems import SpecError
from generator.render import rendered_artefacts, stale_files, write_all
from generator.spec import default_spec, load_spec


def cmd_generate(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    root = Path(args.root)
    changed = write_all(root, rendered_artefacts(spec, lock_state(spec, root)))
    for rel in changed:
        print(f"wrote {rel}")
    print(f"{len(changed)} file(s) changed; contract {spec.interface.version} "
          f"hash {spec.contract_hash[:16]}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    spec, lines = load_spec_with_lines(args.spec)
    root = Path(args.root)
    status = EXIT_OK
    stale = stale_files(root, rendered_artefacts(spec, lock_state(spec, root)))
    if stale:
        status |= EXIT_DRIFT
        for rel in stale:
            print(f"{rel}: stale: differs from what {args.spec} generates")
        print("fix: run `ffispec generate` and commit the result")
    status |= gate.check(spec, root, lines)
    if status == EXIT_OK:
        print(f"ok: {args.spec} is valid, every artefact is current "
              f"({spec.interface.name} {spec.interface.version})")
    return status


def cmd_lint(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    print(f"ok: {args.spec}: {len(spec.functions)} functions, {len(spec.handles)} handles, "
          f"{len(spec.errors.codes)} error codes; no problems")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ffispec", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ffispec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: object, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--spec", default=None, help="the YAML spec (default: [tool.ffispec] spec "
                       "of ./pyproject.toml, else the one spec in spec/)")
        p.add_argument("--root", default=".", help="project root the artefact paths are under")
        p.set_defaults(func=func)
        return p

    add("generate", cmd_generate, "write every generated artefact from the spec")
    add("check", cmd_check, "fail if the spec is invalid, an artefact is stale, or the lock "
        "gate refuses the change")
    add("lint", cmd_lint, "validate the spec (schema and semantic lints) and nothing else")
    lockcli.register(sub, add)
    from generator.headers import cli as headers_cli

    headers_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "spec") and args.spec is None:
        args.spec = default_spec()
    token = PROJECT_ROOT.set(getattr(args, "root", None))
    try:
        return int(args.func(args))
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_SPEC
    except KeyboardInterrupt:
        return EXIT_INTERNAL
    except BrokenPipeError:
        # The reader went away (`ffispec diff | head`): stop quietly, as other CLI tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    finally:
        PROJECT_ROOT.reset(token)
