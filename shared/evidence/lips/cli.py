"""The lips check's command: ``deepfake models import-syncnet``, the conversion of its learned option.

    deepfake models import-syncnet syncnet_v2.model --out DIR   (then DEEPFAKE_LIPS_MODEL=DIR: the lips check uses it)

Added to ``deepfake models`` by ``shared.cli.models`` through ``register_models`` (``shared.evidence.command_modules``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register_models(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "import-syncnet",
        help="convert SyncNet's syncnet_v2.model (joonson/syncnet_python) to an OpenVINO model folder for the lips check",
    )
    p.add_argument("file", type=Path, help="the authors' syncnet_v2.model (a torch state dict)")
    p.add_argument("--out", required=True, type=Path, help="model folder to write (then set DEEPFAKE_LIPS_MODEL to it)")
    p.add_argument("--name", default="syncnet", help="the model's name in reports (default: syncnet)")
    p.set_defaults(func=cmd_import_syncnet)


def cmd_import_syncnet(args: argparse.Namespace) -> int:
    from shared.evidence.lips.syncnet_import import import_syncnet

    card = import_syncnet(args.file, args.out, name=args.name)
    sha = card.source.sha256[:12] if card.source else "?"
    print(f"wrote {args.out} ({card.architecture}, networks {', '.join(card.networks or [])}, source sha256 {sha}...)")
    print(f"the lips check uses it with DEEPFAKE_LIPS_MODEL={args.out}; it shows offset and confidence, no verdict")
    return 0
