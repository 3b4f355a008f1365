"""The ``deepfake`` command.

Each command group lives in its own module with a ``register(subparsers)`` function, so the groups can
grow independently. A kind of evidence brings its own commands from its package (``shared.evidence``'s
``command_modules``): the CLI names no kind. Errors from the library (``shared.errors.DeepfakeError``) become one line on stderr
and exit status 2 for bad input, 1 otherwise; never a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from shared import __version__
from shared.errors import DeepfakeError
from shared.evidence import command_modules

# Command-group modules, in help order; the kinds of evidence's own groups follow. Each imports its heavy
# dependencies (torch for training and conversion) inside its commands, so `deepfake analyze` starts without them.
GROUPS = ["analyze", "models", "audio", "train", "evaluate"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake", description="Deepfake detection for video, images and audio.")
    parser.add_argument("--version", action="version", version=f"deepfake {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        importlib.import_module(f"shared.cli.{group}").register(sub)
    for module in command_modules():
        commands = importlib.import_module(module)
        if hasattr(commands, "register"):
            commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DeepfakeError as exc:
        print(f"deepfake: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("deepfake: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `deepfake models list | head`): not an error; keep Python's
        # shutdown flush from raising again on the dead pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
