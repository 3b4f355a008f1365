"""The gateway's OpenAPI document: written without starting a server (``python -m gateway.openapi OUT``).

``make client`` feeds it to openapi-python-client; the e2e client test does the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def mark_binary_uploads(app: FastAPI) -> None:
    """Also spell file fields ``format: binary``: OpenAPI 3.1's ``contentMediaType`` alone is not yet
    understood by every client generator (openapi-python-client then types the upload as ``str``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for component in schema.get("components", {}).get("schemas", {}).values():
                for prop in component.get("properties", {}).values():
                    if prop.get("contentMediaType") == "application/octet-stream":
                        prop["format"] = "binary"
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
