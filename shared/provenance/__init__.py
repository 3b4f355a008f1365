"""Provenance evidence: Content Credentials (C2PA), generator metadata and known AI watermarks.

The one entry point is :func:`inspect_provenance`; the detector adapter wraps it. It needs no model and
no inference service, and imports no torch (``tests/provenance`` checks that in a fresh interpreter).

    from shared.provenance import ProvenanceSettings, inspect_provenance
    section = inspect_provenance(Path("photo.jpg"))                  # settings from DEEPFAKE_PROVENANCE_*
    section.verdict, section.evidence, section.c2pa.state, section.reasons
    summary_lines(section)                                            # short lines for the CLI summary

What a file's content can do is bounded: the C2PA reader runs in a child process with a memory limit
and a timeout, manifests and metadata values are size-capped, pixels are decoded only up to a size.
Hostile or damaged provenance data ends in a state (``unreadable``) or an entry in ``metadata.errors``
with a reason, never in an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shared.errors import MediaNotFound
from shared.provenance._deps import ProvenanceUnavailable
from shared.provenance.c2pa import read_c2pa
from shared.provenance.evidence import summarize, summary_lines
from shared.provenance.image import LoadedImage, load_image, pixels_not_decoded
from shared.provenance.metadata import container_metadata, image_metadata, tags_metadata
from shared.provenance.section import (
    C2paSection,
    MetadataFinding,
    MetadataSection,
    ProvenanceSection,
    WatermarkMatch,
    WatermarkSection,
)
from shared.provenance.watermark import check_watermarks
from shared.settings import ProvenanceSettings, get_provenance_settings

if TYPE_CHECKING:  # the probe imports the report, which imports this package's section
    from shared.media.image import StillImage
    from shared.media.probe import ContainerTags, MediaSource

__all__ = [
    "C2paSection",
    "MetadataFinding",
    "MetadataSection",
    "ProvenanceSection",
    "ProvenanceSettings",
    "ProvenanceUnavailable",
    "WatermarkMatch",
    "WatermarkSection",
    "get_provenance_settings",
    "inspect_probed",
    "inspect_provenance",
    "summary_lines",
]


def inspect_provenance(path: Path, settings: ProvenanceSettings | None = None) -> ProvenanceSection:
    """Check one file's Content Credentials, metadata and watermarks and summarise the evidence.

    For a file on its own (tools, tests); an analysis uses :func:`inspect_probed` with what its probe
    already read.

    Args:
        path: the media file (image, video or audio); its kind is read from its bytes, not its name.
        settings: limits, trust bundle and network policy; default ``get_provenance_settings()``.

    Returns:
        The report's ``provenance`` section.

    Raises:
        ProvenanceUnavailable: an optional package is missing (the message says what to install).
        ConfigurationError: the configured trust bundle cannot be used.
        MediaNotFound: ``path`` is not a file.
    """
    settings = settings or get_provenance_settings()
    path = Path(path)
    if not path.is_file():
        raise MediaNotFound(f"{path.name}: no such file")
    c2pa = read_c2pa(path, settings)
    loaded = load_image(path, settings)
    if loaded is None:
        metadata = container_metadata(path, settings)
        watermarks = check_watermarks(None)
    else:
        try:
            metadata = image_metadata(loaded, settings)
            watermarks = check_watermarks(loaded.rgb, loaded.note)
        finally:
            loaded.close()
    return summarize(c2pa, metadata, watermarks)


def inspect_probed(
    source: MediaSource,
    still: StillImage | None,
    tags: ContainerTags | None,
    settings: ProvenanceSettings | None = None,
) -> ProvenanceSection:
    """:func:`inspect_provenance` on what an analysis' probe already read: the decoded still (pixels and
    its Pillow handle for metadata) or the container's tags; the file's bytes through views of its one
    open. Only the C2PA SDK opens the path again, in its sandboxed child process."""
    settings = settings or get_provenance_settings()
    c2pa = read_c2pa(source.path, settings, reader=source.reader)
    if still is not None:
        width, height = still.pil.size
        if width * height > settings.watermark_max_pixels:
            loaded = LoadedImage(still.pil, None, note=pixels_not_decoded(width, height, settings))
        else:
            loaded = LoadedImage(still.pil, still.stored_rgb())
        metadata = image_metadata(loaded, settings)
        watermarks = check_watermarks(loaded.rgb, loaded.note)
    elif tags is not None:
        metadata = tags_metadata(tags.container, tags.streams, settings)
        watermarks = check_watermarks(None)
    else:
        metadata = container_metadata(source.path, settings)
        watermarks = check_watermarks(None)
    return summarize(c2pa, metadata, watermarks)
