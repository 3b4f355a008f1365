"""Dataset readers and identity splits for training and evaluation.

``load_dataset(path, fmt="auto")`` recognises the layout:

=============  ==========================================================  =====================
format         what is at ``path``                                          reader
=============  ==========================================================  =====================
``dfdc``       folders with ``metadata.json`` (DFDC training parts)         ``dfdc.read_dfdc``
``ffpp``       ``original_sequences/``, ``manipulated_sequences/``          ``ffpp.read_ffpp``
``asvspoof``   ``ASVspoof2019_LA_cm_protocols/`` (in ``path`` or ``LA/``)   ``asvspoof.read_asvspoof2019_la``
``folder``     ``real/`` + ``fake/`` (optionally under train/val/test)      ``folder.read_folder``
``manifest``   a ``.csv`` with ``path,label`` columns                       ``manifest.read_manifest``
=============  ==========================================================  =====================
"""

from __future__ import annotations

from pathlib import Path

from shared.datasets.base import FAKE, REAL, SPLITS, Dataset, Sample, media_kind
from shared.datasets.splits import assign_splits, check_disjoint, split_by_group
from shared.errors import InvalidArgument, MediaNotFound

FORMATS = ("auto", "dfdc", "ffpp", "asvspoof", "folder", "manifest")

__all__ = [
    "FAKE",
    "FORMATS",
    "REAL",
    "SPLITS",
    "Dataset",
    "Sample",
    "assign_splits",
    "check_disjoint",
    "detect_format",
    "load_dataset",
    "media_kind",
    "split_by_group",
]


def detect_format(path: Path) -> str:
    """Guess the dataset format of ``path`` (see the module table)."""
    from shared.datasets.asvspoof import PROTOCOL_FOLDER
    from shared.datasets.folder import is_labelled_folder

    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return "manifest"
    if not path.is_dir():
        raise MediaNotFound(f"dataset {path} does not exist")
    if (path / "original_sequences").is_dir() or (path / "manipulated_sequences").is_dir():
        return "ffpp"
    if (path / PROTOCOL_FOLDER).is_dir() or (path / "LA" / PROTOCOL_FOLDER).is_dir():
        return "asvspoof"
    if is_labelled_folder(path):
        return "folder"
    if (path / "metadata.json").is_file() or any(path.glob("*/metadata.json")):
        return "dfdc"
    csvs = sorted(path.glob("manifest*.csv"))
    if len(csvs) == 1:
        return "manifest"
    raise InvalidArgument(
        f"cannot tell what dataset {path} is: expected DFDC folders with metadata.json, FaceForensics++ "
        "(original_sequences/), ASVspoof 2019 LA (ASVspoof2019_LA_cm_protocols/), real/ + fake/ folders, "
        "or a manifest .csv; name it with --format"
    )


def load_dataset(path: Path, fmt: str = "auto", **options: object) -> Dataset:
    """Read a dataset. ``options`` go to the reader (e.g. ``compression="c40"`` for FF++).

    A folder given with ``fmt="manifest"`` (or auto-detected as one) must hold exactly one
    ``manifest*.csv``; pass the CSV itself to choose among several.
    """
    path = Path(path)
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "dfdc":
        from shared.datasets.dfdc import read_dfdc

        return read_dfdc(path, **options)  # type: ignore[arg-type]
    if fmt == "ffpp":
        from shared.datasets.ffpp import read_ffpp

        return read_ffpp(path, **options)  # type: ignore[arg-type]
    if fmt == "asvspoof":
        from shared.datasets.asvspoof import read_asvspoof2019_la

        return read_asvspoof2019_la(path, **options)  # type: ignore[arg-type]
    if fmt == "folder":
        from shared.datasets.folder import read_folder

        return read_folder(path, **options)  # type: ignore[arg-type]
    if fmt == "manifest":
        from shared.datasets.manifest import read_manifest

        if path.is_dir():
            csvs = sorted(path.glob("manifest*.csv"))
            if len(csvs) != 1:
                raise InvalidArgument(f"{path} holds {len(csvs)} manifest*.csv files; pass the one to use")
            path = csvs[0]
        return read_manifest(path)
    raise InvalidArgument(f"unknown dataset format {fmt!r}; known: {', '.join(FORMATS)}")
