"""The `ffispec` command line. Exit status: a bit mask, see generator/exitcodes.py: 0 ok;
1 internal error; 2 invalid spec or usage; 4 drift (stale artefacts, or a spec changed since the
lock without the version bump it needs); 8 a breaking change without a major version bump."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from generator import __version__
from generator.exitcodes import EXIT_INTERNAL, EXIT_OK, EXIT_SPEC
from generator.loader import PROJECT_ROOT
from generator.problems import SpecError
from generator.spec import default_spec


# Each subcommand lives in the module COMMANDS names, imported only when that subcommand runs
# (`generate` does not load the diff and lock machinery, nor `--help` any of them); the module's
# `add_arguments(command, parser)` declares the subcommand's options and the function that runs it.
@dataclass(frozen=True)
class Command:
    module: str  # defines add_arguments(command, parser); imported when the command runs
    help: str
    takes_spec: bool = True  # --spec and --root


COMMANDS: dict[str, Command] = {
    "generate": Command("generator.commands", "write every generated artefact from the spec"),
    "check": Command("generator.lock.cli", "fail if the spec is invalid, an artefact is stale, "
                     "or the lock gate refuses the change"),
    "lint": Command("generator.commands", "validate the spec (schema and semantic lints) and "
                    "nothing else"),
    "lock": Command("generator.lock.cli", "lock the contract: write the lock document, the "
                    "baseline and a line in the timeline; refuses when lints fail, artefacts are "
                    "stale, or the version bump is too small for the changes since the last lock"),
    "diff": Command("generator.diff.cli", "classify every change between the spec and the lock "
                    "baseline, another spec file or a git revision (breaking, compatible, "
                    "documentation-only)"),
    "verify-lock": Command("generator.lock.cli", "check that the lock document, the baseline, "
                           "the spec, the committed header and (with --lib) a built library "
                           "agree on the contract"),
    "import": Command("generator.headers.cli", "draft a spec from existing C headers",
                      takes_spec=False),
    "audit": Command("generator.headers.cli", "report what C headers contradict",
                     takes_spec=False),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand with its help line; only `command` (when given) gets its options,
    which imports its module."""
    parser = argparse.ArgumentParser(prog="ffispec", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ffispec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if cmd.takes_spec:
            p.add_argument("--spec", default=None, help="the YAML spec (default: [tool.ffispec] "
                           "spec of ./pyproject.toml, else the one spec in spec/)")
            p.add_argument("--root", default=".", help="project root the artefact paths are under")
        if name == command:
            importlib.import_module(cmd.module).add_arguments(name, p)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


# A run builds large structures that live until it ends (the spec's data and model, a few
# hundred thousand objects for a large spec, and the rendered text): at Python's default
# thresholds the cyclic collector walks them over and over, a third of the CPU time of a large
# `generate`. Collecting young objects less often keeps the memory used about the same.
GC_THRESHOLD = (100_000, 50, 100)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_in(words)).parse_args(words)
    if hasattr(args, "spec") and args.spec is None:
        args.spec = default_spec()
    token = PROJECT_ROOT.set(getattr(args, "root", None))
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
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
        gc.set_threshold(*thresholds)
        PROJECT_ROOT.reset(token)
