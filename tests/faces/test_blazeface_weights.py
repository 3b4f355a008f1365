"""The registry entry "blazeface": both published files pinned, fetched (cache or download) and converted once."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared import settings, weights
from shared.errors import ModelUnavailable
from shared.modelcard import ModelCard
from shared.registry import get_published


class _Files:
    """A loopback HTTP server for files the test chose (the internet cannot be reached from tests)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hits.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test's own, so the session's converted BlazeFace does not answer for it."""
    monkeypatch.setenv("DEEPFAKE_CACHE_DIR", str(tmp_path / "cache"))
    settings.get_model_settings.cache_clear()
    return tmp_path / "cache"


def test_registry_pins_both_published_files(blazeface_weights: Path) -> None:
    entry = get_published("blazeface")
    assert entry.kind == "face_detector" and entry.architecture == "blazeface" and "Apache-2.0" in entry.licence
    assert entry.file == "blazeface.pth" and [c.file for c in entry.companions] == ["anchors.npy"]
    for name, sha in ((entry.file, entry.sha256), (entry.companions[0].file, entry.companions[0].sha256)):
        assert hashlib.sha256((blazeface_weights / name).read_bytes()).hexdigest() == sha, name
    assert settings.ModelSettings.model_fields["blazeface_base_url"].default == (
        "https://github.com/hollance/BlazeFace-PyTorch/raw/master/"
    )


def test_files_placed_in_downloads_are_converted_on_first_use(blazeface_in_cache: Path, blazeface_weights: Path) -> None:
    # The session's cache (its conversion then serves the face-stage tests too); the base address is
    # unreachable (tests/conftest.py), so only the placed files can satisfy this.
    folder = weights.resolve_model("blazeface", progress=False)
    assert folder == weights.models_dir() / "blazeface"
    card = ModelCard.load(folder)
    assert card.kind == "face_detector" and card.source is not None
    assert card.source.sha256 == get_published("blazeface").sha256
    assert (folder / "anchors.npy").read_bytes() == (blazeface_weights / "anchors.npy").read_bytes()
    mtime = (folder / "model.xml").stat().st_mtime_ns
    assert weights.fetch("blazeface", progress=False) == folder  # from the cache: not converted again
    assert (folder / "model.xml").stat().st_mtime_ns == mtime


def test_both_files_are_downloaded_from_the_base_address_and_verified(
    own_cache: Path, blazeface_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Conversion of downloaded files is the same step as above; this covers the download of both files.
    names = ("blazeface.pth", "anchors.npy")
    server = _Files({f"/bf/{n}": (blazeface_weights / n).read_bytes() for n in names})
    try:
        monkeypatch.setenv("DEEPFAKE_BLAZEFACE_BASE_URL", server.base + "bf/")
        settings.get_model_settings.cache_clear()
        checkpoint = weights.fetch_checkpoint("blazeface", progress=False)
        companions = weights.fetch_companions("blazeface", progress=False)
        assert sorted(server.hits) == ["/bf/anchors.npy", "/bf/blazeface.pth"]
        assert checkpoint == weights.downloads_dir() / "blazeface.pth"
        assert companions == {"anchors.npy": weights.downloads_dir() / "anchors.npy"}
        for name in names:
            assert (weights.downloads_dir() / name).read_bytes() == (blazeface_weights / name).read_bytes()
        # Verified files in downloads/ are used as they are: no second request.
        weights.fetch_checkpoint("blazeface", progress=False)
        weights.fetch_companions("blazeface", progress=False)
        assert len(server.hits) == 2
    finally:
        server.close()


def test_a_corrupted_anchors_download_is_refused_and_says_how_to_get_the_files(
    own_cache: Path, blazeface_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchors = bytearray((blazeface_weights / "anchors.npy").read_bytes())
    anchors[-1] ^= 0xFF
    server = _Files({"/bf/blazeface.pth": (blazeface_weights / "blazeface.pth").read_bytes(), "/bf/anchors.npy": bytes(anchors)})
    try:
        monkeypatch.setenv("DEEPFAKE_BLAZEFACE_BASE_URL", server.base + "bf/")
        settings.get_model_settings.cache_clear()
        with pytest.raises(ModelUnavailable) as info:
            weights.resolve_model("blazeface", progress=False)
    finally:
        server.close()
    message = info.value.message
    assert "sha256" in message and "anchors.npy (from " in message and "blazeface.pth (from " in message
    assert not (weights.downloads_dir() / "anchors.npy").exists()  # never kept under the real name
    assert not (weights.models_dir() / "blazeface").exists()
