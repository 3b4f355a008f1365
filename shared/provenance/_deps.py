"""The optional packages the provenance checks need, and the one error that says how to get them."""

from __future__ import annotations

import importlib.util

from shared.errors import DeepfakeError

INSTALL_HINT = (
    "pip install 'deepfake-detect[provenance]' && pip install --no-deps invisible-watermark==0.2.0 "
    "(make setup does both)"
)


class ProvenanceUnavailable(DeepfakeError):
    """A package the provenance checks need is not installed. Not a problem with the user's file."""

    status = 503
    code = "provenance_unavailable"


def require(module: str, package: str) -> None:
    """Fail loudly, naming what to install, when ``module`` cannot be imported.

    ``find_spec`` only locates the module: it runs none of its code (``imwatermark``'s package
    ``__init__`` imports torch, which the inference path must not load).
    """
    if importlib.util.find_spec(module) is None:
        raise ProvenanceUnavailable(
            f"the provenance checks need the Python package {package} (module '{module}'): {INSTALL_HINT}"
        )
