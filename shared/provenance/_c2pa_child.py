"""Runs the C2PA reader on one file in a child process (``python -I _c2pa_child.py``).

Why a child: the reader is native code fed with hostile bytes. In a child, an address-space limit and a
wall-clock timeout bound what one file can cost, and a crash or a hang ends that child, not the worker.
The parent (``shared/provenance/c2pa.py``) sends one JSON request on stdin and reads one JSON answer
from stdout. This file imports nothing from the project (``-I`` leaves its folder off ``sys.path``, so
``import c2pa`` is the C2PA SDK and not the sibling module of the same name).

Request: ``{"path", "sdk_settings", "max_store_bytes", "max_memory_bytes"}``.
Answer ``outcome``: ``store`` (with ``store``, ``embedded``, ``remote_url``), ``none``, ``too_large``
(with ``bytes``) or ``error`` (with ``error_type``, ``message``).
"""

import json
import resource
import sys


def _answer(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload))
    sys.stdout.flush()


def main() -> None:
    request = json.loads(sys.stdin.read())
    limit = int(request["max_memory_bytes"])
    # Set before the SDK is loaded: the native library's own allocations count against it.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    import c2pa

    context = c2pa.Context.from_dict(request["sdk_settings"])
    try:
        with open(request["path"], "rb") as stream:
            # No format: the SDK detects the container from the bytes, never from the file name.
            reader = c2pa.Reader.try_create(None, stream, None, context)
            if reader is None:
                _answer({"outcome": "none"})
                return
            with reader:
                store = reader.json()
                size = len(store.encode("utf-8"))
                if size > int(request["max_store_bytes"]):
                    _answer({"outcome": "too_large", "bytes": size})
                    return
                _answer(
                    {
                        "outcome": "store",
                        "store": store,
                        "embedded": bool(reader.is_embedded()),
                        "remote_url": reader.get_remote_url(),
                    }
                )
    except c2pa.C2paError as error:
        _answer(
            {
                "outcome": "error",
                "error_type": type(error).__name__.lstrip("_").removeprefix("C2pa") or "C2paError",
                "message": str(error)[:2000],
            }
        )


if __name__ == "__main__":
    main()
