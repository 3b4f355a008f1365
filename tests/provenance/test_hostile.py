"""Hostile and damaged provenance data: every case ends in a state or an error entry with a clear
reason, the rest of the section is still produced, and nothing raises.

The corpus is made here: manifests signed with the SDK and then truncated, garbled or inflated; JUMBF
with absurd declared sizes; random bytes; PNG decompression bombs (image and zTXt); an XMP entity bomb;
damaged EXIF; and the reader's own bounds (timeout, memory limit, manifest size).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from provenance_helpers import SdkSigner, created, encode_image

from shared.provenance import ProvenanceSettings, inspect_provenance
from shared.provenance.c2pa import C2PA_STORE_MARKER, read_c2pa


def _exif(software: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0131] = software
    return exif


@pytest.fixture(scope="module")
def signed_with_exif(sdk_signer: SdkSigner, astronaut: np.ndarray) -> bytes:
    """A JPEG whose EXIF names NovelAI, signed with an AI-declaring manifest (APP11 after APP1)."""
    source = encode_image(astronaut, "JPEG", quality=92, exif=_exif("NovelAI"))
    return sdk_signer.sign(source, "image/jpeg", [created("trainedAlgorithmicMedia")])[0]


def test_truncated_manifest(signed_with_exif: bytes, write, defaults: ProvenanceSettings) -> None:
    marker = signed_with_exif.index(C2PA_STORE_MARKER)
    section = inspect_provenance(write("cut.jpg", signed_with_exif[: marker + 3000]), defaults)
    assert section.c2pa.state == "unreadable"
    assert "could not read" in section.c2pa.reason and "nothing can be concluded" in section.c2pa.reason
    # The SDK writes the manifest before the EXIF block, so the cut removed the EXIF and the pixels:
    # every part of the section still says what happened to it.
    assert section.metadata.errors == [section.watermarks.reason]
    assert "could not be opened" in section.metadata.errors[0]
    assert section.watermarks.status == "not_checked"
    assert section.verdict == "not_applicable"
    assert any("C2PA state unreadable" in r for r in section.reasons)


def test_garbled_manifest_is_unreadable_not_none(signed_with_exif: bytes, write, defaults: ProvenanceSettings) -> None:
    data = bytearray(signed_with_exif)
    marker = data.index(C2PA_STORE_MARKER)
    # Break the store's UUID and what follows, keep the marker: the SDK no longer recognises a store.
    for offset in range(marker + 10, marker + 2000, 7):
        data[offset] ^= 0xA5
    section = inspect_provenance(write("garbled.jpg", bytes(data)), defaults)
    assert section.c2pa.state == "unreadable"
    assert "malformed" in section.c2pa.reason or "could not read" in section.c2pa.reason
    assert [f.generator for f in section.metadata.findings] == ["NovelAI"]
    assert section.watermarks.status == "not_found"  # the pixels were still checked


def test_huge_declared_jumbf_sizes(astronaut: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    base = encode_image(astronaut, "JPEG", quality=80)
    # APP11 segments holding a JUMBF superbox that declares 2 GiB (and an XLBox of 2^63), then noise.
    superbox = struct.pack(">I", 0x7FFFFFFF) + b"jumb" + struct.pack(">I", 0x1E) + C2PA_STORE_MARKER
    xl_box = struct.pack(">I", 1) + b"jumb" + struct.pack(">Q", 2**63) + C2PA_STORE_MARKER
    rng = np.random.default_rng(0)
    for name, box in (("lbox", superbox), ("xlbox", xl_box)):
        payload = b"JP" + b"\x02\x11" + struct.pack(">I", 1) + box
        segment_body = payload + rng.bytes(65533 - len(payload))
        segment = b"\xff\xeb" + struct.pack(">H", len(segment_body) + 2) + segment_body
        path = write(f"huge-{name}.jpg", base[:2] + segment * 40 + base[2:])
        section = inspect_provenance(path, defaults)
        assert section.c2pa.state == "unreadable", section.c2pa.reason
        assert section.watermarks.status in ("not_found", "not_checked")


def test_manifest_over_the_size_limit(sdk_signer: SdkSigner, jpeg_bytes: bytes, write, defaults: ProvenanceSettings) -> None:
    filler = {"label": "org.example.filler", "data": {"text": "x" * 200_000}}
    signed, _ = sdk_signer.sign(jpeg_bytes, "image/jpeg", [created("digitalCapture")], assertions=[filler])
    path = write("big-manifest.jpg", signed)
    assert read_c2pa(path, defaults).state == "valid"  # the default limit takes it
    small = ProvenanceSettings(max_manifest_bytes=64 * 1024)
    section = read_c2pa(path, small)
    assert section.state == "unreadable" and "MAX_MANIFEST_BYTES" in section.reason


def test_reader_timeout(write, jpeg_bytes: bytes) -> None:
    # No file is read in under a millisecond (the child interpreter alone takes longer to start).
    section = read_c2pa(write("plain.jpg", jpeg_bytes), ProvenanceSettings(c2pa_timeout_s=0.001))
    assert section.state == "unreadable" and "took longer than" in section.reason


def test_reader_memory_limit_ends_only_the_child(write, jpeg_bytes: bytes, defaults: ProvenanceSettings) -> None:
    # Below what the SDK needs to load: the child dies, this process reports it and goes on.
    starved = defaults.model_copy(update={"c2pa_max_memory_mb": 8})
    section = read_c2pa(write("plain.jpg", jpeg_bytes), starved)
    assert section.state == "unreadable" and "memory limit is 8 MB" in section.reason


def test_random_bytes(write, defaults: ProvenanceSettings) -> None:
    section = inspect_provenance(write("noise.bin", os.urandom(100_000)), defaults)
    assert section.c2pa.state == "none" and "could not parse" in section.c2pa.reason
    assert section.metadata.errors and "container tags could not be read" in section.metadata.errors[0]
    assert "noise.bin" in section.metadata.errors[0] and str(Path("/tmp")) not in section.metadata.errors[0]
    assert section.watermarks.status == "not_checked" and section.verdict == "not_applicable"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, *chunks: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00" * 3 * min(width, 16) for _ in range(min(height, 16)))
    return (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + b"".join(chunks)
        + _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b"")
    )  # fmt: skip


def test_png_decompression_bombs(write, defaults: ProvenanceSettings) -> None:
    text_bomb = _png_chunk(b"zTXt", b"parameters\x00\x00" + zlib.compress(b"A" * 20_000_000))
    section = inspect_provenance(write("ztxt-bomb.png", _png(16, 16, text_bomb)), defaults)
    assert section.metadata.errors and "too large" in section.metadata.errors[0].lower()
    assert section.watermarks.status == "not_checked"

    pixels_bomb = _png(100_000, 100_000, _png_chunk(b"tEXt", b"Software\x00NovelAI"))
    section = inspect_provenance(write("pixel-bomb.png", pixels_bomb), defaults)
    assert "too large to open" in section.metadata.errors[0]
    assert section.c2pa.state == "none" and section.verdict == "not_applicable"


def test_large_image_keeps_its_metadata_and_skips_the_pixels(write, defaults: ProvenanceSettings) -> None:
    # Within Pillow's limits but above ours: header metadata read, pixels not decoded.
    big = _png(5000, 4000, _png_chunk(b"tEXt", b"Software\x00NovelAI"))
    section = inspect_provenance(write("big.png", big), defaults)
    assert [f.generator for f in section.metadata.findings] == ["NovelAI"]
    assert section.watermarks.status == "not_checked" and "WATERMARK_MAX_PIXELS" in (section.watermarks.reason or "")


def test_xmp_entity_bomb(write, defaults: ProvenanceSettings) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>'
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", bomb)
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1")
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (120, 90, 60)).save(buffer, "PNG", pnginfo=info)
    section = inspect_provenance(write("xmp-bomb.png", buffer.getvalue()), defaults)
    assert any("XMP could not be read" in e and "EntitiesForbidden" in e for e in section.metadata.errors)
    assert [f.key for f in section.metadata.findings] == ["parameters"]  # the rest is still read


def test_damaged_exif(astronaut: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    base = encode_image(astronaut, "JPEG", quality=80)
    body = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 120
    damaged = base[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + base[2:]
    section = inspect_provenance(write("bad-exif.jpg", damaged), defaults)
    assert section.c2pa.state == "none"
    assert section.watermarks.status == "not_found"  # the pixels were still decoded and checked
    assert all("EXIF" in e for e in section.metadata.errors)


def test_truncated_video_manifest(shared_media: Path, write, defaults: ProvenanceSettings) -> None:
    video = (shared_media / "provenance" / "video1.mp4").read_bytes()
    cut = video[: video.index(C2PA_STORE_MARKER) + 2000]
    section = inspect_provenance(write("cut.mp4", cut), defaults)
    assert section.c2pa.state == "unreadable" and "could not read" in section.c2pa.reason
    assert section.verdict == "not_applicable"
