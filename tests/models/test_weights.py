"""Downloads and the model cache, against a loopback HTTP server serving files the tests made."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared import registry, settings
from shared.errors import ChecksumMismatch, DownloadFailed, ModelUnavailable, UnknownModel
from shared.weights import download, downloads_dir, fetch, fetch_checkpoint, resolve_model


class Server:
    """Serves ``files[path] = (body, mode)``; mode "ok", or "drop" (promise all, send half, hang up)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        files, hits = self.files, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hits.append(self.path)
                if self.path not in files:
                    self.send_error(404)
                    return
                body, mode = files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def _no_partial_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir()] if folder.exists() else []


BODY = bytes(range(256)) * 4096  # 1 MiB, several chunks
SHA = hashlib.sha256(BODY).hexdigest()


def test_download_writes_the_verified_file_and_shows_progress(server, tmp_path, capsys) -> None:
    server.files["/w.pth"] = (BODY, "ok")
    dest = download(server.base + "w.pth", tmp_path / "dl" / "w.pth", SHA)
    assert dest.read_bytes() == BODY
    assert _no_partial_files(tmp_path / "dl") == [dest]
    assert "w.pth" in capsys.readouterr().err  # the tqdm bar, on stderr


def test_corrupted_file_is_refused_and_not_kept(server, tmp_path) -> None:
    corrupted = bytearray(BODY)
    corrupted[1000] ^= 0xFF
    server.files["/w.pth"] = (bytes(corrupted), "ok")
    with pytest.raises(ChecksumMismatch) as info:
        download(server.base + "w.pth", tmp_path / "dl" / "w.pth", SHA, progress=False)
    assert SHA in info.value.message
    assert _no_partial_files(tmp_path / "dl") == []


def test_connection_dropped_mid_body_fails_clearly_and_keeps_nothing(server, tmp_path) -> None:
    server.files["/w.pth"] = (BODY, "drop")
    with pytest.raises(DownloadFailed) as info:
        download(server.base + "w.pth", tmp_path / "dl" / "w.pth", SHA, progress=False)
    assert "run the command again" in info.value.message
    assert _no_partial_files(tmp_path / "dl") == []


def test_http_error_and_unreachable_server_fail_clearly(server, tmp_path) -> None:
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        download(server.base + "missing.pth", tmp_path / "x.pth", SHA, progress=False)
    with pytest.raises(DownloadFailed, match="ConnectError"):
        download("http://127.0.0.1:9/x.pth", tmp_path / "x.pth", SHA, progress=False)
    assert _no_partial_files(tmp_path) == []


@pytest.fixture()
def test_entry(video_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> registry.PublishedModel:
    """A registry entry for the test-made checkpoint, as if it were published."""
    sha = hashlib.sha256(video_checkpoint.read_bytes()).hexdigest()
    base = registry.PUBLISHED["EfficientNetAutoAttB4_DFDC"]
    entry = replace(
        base, name="EfficientNetAutoAttB4_TEST", file=f"EfficientNetAutoAttB4_TEST-{sha}.pth", sha256=sha
    )
    monkeypatch.setitem(registry.PUBLISHED, entry.name, entry)
    return entry


def _point_icpr_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DEEPFAKE_ICPR_BASE_URL", url)
    settings.get_model_settings.cache_clear()


def test_fetch_downloads_converts_and_then_serves_from_cache(
    server, test_entry, video_checkpoint, monkeypatch
) -> None:
    from shared.modelcard import ModelCard

    server.files["/icpr/" + test_entry.file] = (video_checkpoint.read_bytes(), "ok")
    _point_icpr_at(monkeypatch, server.base + "icpr/")
    folder = fetch(test_entry.name, progress=False)
    card = ModelCard.load(folder)
    assert (folder / "model.xml").is_file() and (folder / "model.bin").is_file()
    assert card.name == test_entry.name and card.source.sha256 == test_entry.sha256
    assert card.source.url == server.base + "icpr/" + test_entry.file
    assert card.training_data == test_entry.training_data and card.reported_metrics
    assert card.preprocessing.outputs == ["logit", "attention"]
    assert len(server.hits) == 1
    # Second time: from the cache, no request; resolve_model gives the same folder.
    assert fetch(test_entry.name) == folder and resolve_model(test_entry.name) == folder
    assert len(server.hits) == 1


def test_checkpoint_placed_in_downloads_is_used_without_downloading(test_entry, video_checkpoint) -> None:
    # The base address is unreachable (tests/conftest.py): only the placed file can satisfy this.
    placed = downloads_dir() / test_entry.file
    placed.parent.mkdir(parents=True, exist_ok=True)
    placed.write_bytes(video_checkpoint.read_bytes())
    assert fetch_checkpoint(test_entry.name, progress=False) == placed


def test_wrong_file_under_the_published_name_is_never_used(test_entry) -> None:
    placed = downloads_dir() / test_entry.file
    placed.parent.mkdir(parents=True, exist_ok=True)
    placed.write_bytes(b"not the checkpoint")
    with pytest.raises(DownloadFailed):
        fetch_checkpoint(test_entry.name, progress=False)
    assert not placed.exists()


def test_resolve_model_explains_how_to_get_an_unfetchable_model() -> None:
    with pytest.raises(ModelUnavailable) as info:
        resolve_model("Xception_FFPP", progress=False)
    message = info.value.message
    assert "deepfake models fetch Xception_FFPP" in message and str(downloads_dir()) in message


def test_offline_mode_never_downloads(monkeypatch) -> None:
    monkeypatch.setenv("DEEPFAKE_OFFLINE", "1")
    settings.get_model_settings.cache_clear()
    with pytest.raises(ModelUnavailable, match="offline"):
        resolve_model("EfficientNetB4_DFDC", progress=False)


def test_resolve_model_folder_unknown_name_and_non_model_folder(video_model_dir, tmp_path) -> None:
    assert resolve_model(str(video_model_dir)) == video_model_dir
    with pytest.raises(UnknownModel, match="EfficientNetAutoAttB4_DFDC"):
        resolve_model("NoSuchModel")
    with pytest.raises(ModelUnavailable, match="model.xml is missing"):
        resolve_model(tmp_path)


def test_weights_of_a_package_that_is_not_installed_are_one_clear_error() -> None:
    """Issue 17: the package is looked up explicitly (no ImportError swallowed on the way); absent, the
    error names it and how to get the model."""
    from shared.weights import package_checkpoint

    entry = replace(registry.get_published("mtcnn"), package="deepfake-no-such-package==1.0",
                    package_files={"deepfake_no_such_package/weights.pt": "0" * 64})
    with pytest.raises(ModelUnavailable) as info:
        package_checkpoint(entry)
    assert "the package deepfake-no-such-package==1.0 is not installed" in info.value.message
    assert "deepfake-detect[ml]" in info.value.message
