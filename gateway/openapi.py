"""The gateway's OpenAPI document: written without starting a server (``python -m gateway.openapi OUT``).

``make client`` feeds it to openapi-python-client; the e2e client test does the same. It imports the app;
the app never imports it (how the document is shaped lives with the app, ``gateway.app``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def openapi_document() -> dict[str, Any]:
    from gateway.app import create_app

    return create_app().openapi()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(openapi_document(), indent=2) + "\n"
    if args and args[0] != "-":
        Path(args[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
