"""Unsigned metadata that says where a file came from: generator front ends, editors, encoders, cameras.

``image_metadata(loaded, settings)`` reads a still image with Pillow: PNG text chunks (the prompt and
settings that Stable Diffusion front ends write: AUTOMATIC1111 ``parameters``, ComfyUI ``prompt`` /
``workflow``, InvokeAI ``invokeai_metadata``, NovelAI ``Software``/``Comment``, Fooocus, SwarmUI, the
``AIGC`` label), EXIF ``Software``/``Make``/``Model``/``UserComment``, XMP ``DigitalSourceType`` and
``CreatorTool`` (parsed by Pillow through defusedxml, so entity bombs are refused), IPTC IIM
``OriginatingProgram``. ``container_metadata(path, settings)`` reads video and audio container tags
with PyAV (``encoder``, ``software``, QuickTime make/model...).

Every finding says what it means and what it does not: metadata is unsigned, trivially copied onto
another file and stripped by most upload pipelines. A generator finding is an indication, never proof;
the absence of findings is not evidence of anything. Any block that cannot be read is listed in
``errors`` and the others are still reported.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.provenance._deps import require
from shared.provenance.c2pa import AI_SOURCE_TYPES
from shared.provenance.image import LoadedImage
from shared.provenance.section import FindingKind, MetadataFinding, MetadataSection, MetadataSource
from shared.settings import ProvenanceSettings

UNSIGNED = (
    "metadata is unsigned: it can be copied onto a real photo or stripped from a generated one, so it is "
    "an indication, not proof"
)

#: Names that image, video and voice generators (or their front ends) write into Software/encoder tags.
GENERATOR_NAMES: tuple[tuple[str, str], ...] = (
    (r"novel\s?ai", "NovelAI"),
    (r"stable[\s-]?diffusion", "Stable Diffusion"),
    (r"comfy\s?ui", "ComfyUI"),
    (r"automatic1111|stable-diffusion-webui", "AUTOMATIC1111 web UI"),
    (r"invoke\s?ai", "InvokeAI"),
    (r"fooocus", "Fooocus"),
    (r"midjourney", "Midjourney"),
    (r"dall[\s·\-]?e", "DALL-E"),
    (r"firefly", "Adobe Firefly"),
    (r"imagen\b", "Google Imagen"),
    (r"leonardo\.?ai", "Leonardo.Ai"),
    (r"draw\s?things", "Draw Things"),
    (r"diffusion\s?bee", "DiffusionBee"),
    (r"ideogram", "Ideogram"),
    (r"\bsora\b", "OpenAI Sora"),
    (r"runway(ml)?\b", "Runway"),
    (r"\bkling\b", "Kling"),
    (r"eleven\s?labs", "ElevenLabs"),
    (r"\bsuno\b", "Suno"),
    (r"\budio\b", "Udio"),
    (r"faceswap|deepfacelab|facefusion|roop\b", "a face-swap tool"),
)
#: Editing programs: the file was saved by an editor (routine; says nothing about what changed).
EDITOR_NAMES: tuple[tuple[str, str], ...] = (
    (r"photoshop", "Adobe Photoshop"),
    (r"lightroom", "Adobe Lightroom"),
    (r"\bgimp\b", "GIMP"),
    (r"affinity", "Affinity"),
    (r"pixelmator", "Pixelmator"),
    (r"snapseed", "Snapseed"),
    (r"capture one", "Capture One"),
    (r"paint\.net", "Paint.NET"),
    (r"\bcanva\b", "Canva"),
    (r"picsart", "Picsart"),
    (r"facetune", "Facetune (face retouching)"),
    (r"faceapp", "FaceApp (face editing)"),
    (r"premiere|after effects|final cut|davinci resolve|imovie|capcut", "a video editor"),
    (r"audacity|adobe audition", "an audio editor"),
)
_GENERATOR_RES = [(re.compile(p, re.IGNORECASE), name) for p, name in GENERATOR_NAMES]
_EDITOR_RES = [(re.compile(p, re.IGNORECASE), name) for p, name in EDITOR_NAMES]

EXIF_SOFTWARE, EXIF_MAKE, EXIF_MODEL, EXIF_DESCRIPTION = 0x0131, 0x010F, 0x0110, 0x010E
EXIF_IFD, EXIF_USER_COMMENT = 0x8769, 0x9286
IPTC_ORIGINATING_PROGRAM, IPTC_PROGRAM_VERSION = (2, 65), (2, 70)
MAX_FINDINGS = 50
MAX_XMP_NODES = 10_000


def generator_in(text: str) -> str | None:
    """The generator a Software/encoder/comment string names, if any."""
    return next((name for pattern, name in _GENERATOR_RES if pattern.search(text)), None)


def editor_in(text: str) -> str | None:
    return next((name for pattern, name in _EDITOR_RES if pattern.search(text)), None)


class _Collector:
    """Findings and errors of one file, with values cut to a bounded length."""

    def __init__(self, settings: ProvenanceSettings) -> None:
        self.limit = settings.max_metadata_value_chars
        self.section = MetadataSection()

    def add(
        self,
        source: MetadataSource,
        key: str,
        value: str,
        kind: FindingKind,
        generator: str | None,
        means: str,
        does_not_mean: str = UNSIGNED,
    ) -> None:
        if len(self.section.findings) >= MAX_FINDINGS:
            return
        text = value if len(value) <= self.limit else value[: self.limit] + "…"
        self.section.findings.append(
            MetadataFinding(
                source=source,
                key=key[:100],
                value=text,
                kind=kind,
                generator=generator,
                means=means,
                does_not_mean=does_not_mean,
            )
        )

    def error(self, what: str, error: BaseException) -> None:
        self.section.errors.append(f"{what} could not be read ({type(error).__name__}: {' '.join(str(error).split())[:200]})")

    def program(self, source: MetadataSource, key: str, value: str) -> None:
        """A Software / CreatorTool / encoder string: generator, editor, FFmpeg, or some other program."""
        if generator := generator_in(value):
            self.add(source, key, value, "generator", generator,
                     f"the file says it was made or saved by {generator}, a generative-AI tool")  # fmt: skip
        elif editor := editor_in(value):
            self.add(source, key, value, "editor", editor, f"the file was last saved by {editor}, an editing program",
                     "editing is routine (crops, colour) and this does not say what was changed")  # fmt: skip
        elif re.match(r"lav[fc]\d", value, re.IGNORECASE) or re.search(r"\b(x264|x265|handbrake|lame)\b", value, re.I):
            name = "FFmpeg" if value.lower().startswith("lav") else value.split()[0]
            self.add(source, key, value, "encoder", name,
                     f"the file was written by {name}: re-muxed or re-encoded after capture (converters, editors, "
                     "upload pipelines and generators' export steps do this; phones and cameras write their own name)",
                     "re-encoding is routine and says nothing about whether the content is real, though it "
                     "removes most watermarks and Content Credentials")  # fmt: skip
        else:
            self.add(source, key, value, "software", None, f"the file was written by '{value[:100]}'",
                     "a program name says nothing about whether the content is real")  # fmt: skip

    def device(self, source: MetadataSource, key: str, value: str) -> None:
        self.add(source, key, value, "capture_device", None, f"the file says it was made with '{value[:100]}'",
                 "unsigned and easy to forge or copy: a camera name does not prove an unaltered capture")  # fmt: skip

    def source_type(self, source: MetadataSource, key: str, value: str) -> None:
        short = value.rstrip("/").rsplit("/", 1)[-1]
        if short in AI_SOURCE_TYPES:
            self.add(source, key, value, "ai_declared", None,
                     f"the metadata declares AI-generated or AI-edited content (IPTC digital source type {short})")  # fmt: skip
        else:
            self.add(source, key, value, "declared_source", None,
                     f"the metadata declares the IPTC digital source type {short}",
                     "unsigned: any program can write any source type")  # fmt: skip


def _as_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        value = value.strip("\x00 \n\t")
        return value or None
    return None


def _user_comment(raw: Any) -> str | None:
    """EXIF UserComment: an 8-byte character-code prefix, then the text (AUTOMATIC1111 stores its
    ``parameters`` here in JPEG and WebP, as UTF-16 after ``UNICODE\\0``)."""
    if isinstance(raw, str):
        return _as_text(raw)
    if not isinstance(raw, bytes) or len(raw) < 8:
        return None
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        for codec in ("utf-16-be", "utf-16-le"):
            text = body.decode(codec, errors="replace")
            if sum(ch.isprintable() or ch in "\n\t" for ch in text) >= 0.9 * max(len(text), 1):
                return _as_text(text)
        return None
    return _as_text(body)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _parameters_generator(text: str) -> str:
    """Which front end wrote a ``parameters`` text (PNG chunk or EXIF UserComment)."""
    data = _json(text)
    if isinstance(data, dict):
        if "sui_image_params" in data:
            return "SwarmUI"
        if any("fooocus" in str(k).lower() or "fooocus" in str(v).lower()[:200] for k, v in data.items()):
            return "Fooocus"
        return "a Stable Diffusion front end (JSON parameters)"
    if "Steps:" in text and ("Sampler:" in text or "CFG scale:" in text):
        return "AUTOMATIC1111's Stable Diffusion web UI or a compatible front end (Forge, SD.Next)"
    return "a Stable Diffusion front end ('parameters' text)"


def _png_text(collector: _Collector, chunks: dict[str, Any]) -> None:
    for key, raw in chunks.items():
        text = _as_text(raw)
        if text is None:
            continue
        if key == "parameters":
            generator = _parameters_generator(text)
            collector.add("png_text", key, text, "generator", generator,
                          f"the image was saved by {generator}, which writes the prompt and sampler settings "
                          "of a generated image into this chunk")  # fmt: skip
        elif key in ("prompt", "workflow"):
            data = _json(text)
            comfy = isinstance(data, dict) and (
                "nodes" in data or any(isinstance(v, dict) and "class_type" in v for v in data.values())
            )
            generator = "ComfyUI" if comfy else "an image generator"
            collector.add("png_text", key, text, "generator", generator,
                          f"the image was saved by {generator}, which stores its generation "
                          f"{'node graph' if comfy else 'prompt'} in this chunk")  # fmt: skip
        elif key in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream"):
            collector.add("png_text", key, text, "generator", "InvokeAI",
                          "the image was saved by InvokeAI, which stores the generation settings in this chunk")  # fmt: skip
        elif key == "fooocus_scheme":
            collector.add("png_text", key, text, "generator", "Fooocus",
                          "the image was saved by Fooocus, which marks its metadata scheme in this chunk")  # fmt: skip
        elif key == "Comment" and isinstance(data := _json(text), dict) and {"steps", "sampler"} <= set(data):
            collector.add("png_text", key, text, "generator", "NovelAI",
                          "the image was saved by NovelAI, which stores its generation settings as JSON here")  # fmt: skip
        elif key.upper() == "AIGC":
            collector.add("png_text", key, text, "ai_declared", None,
                          "an 'AIGC' label: the implicit AI-generated-content label of China's 2025 labelling "
                          "rules, written by the generating service")  # fmt: skip
        elif key in ("Software", "Source"):
            collector.program("png_text", key, text)


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) pairs of Pillow's nested XMP dict, bounded so a huge XMP packet stays cheap."""
    stack, seen = [node], 0
    while stack and seen < MAX_XMP_NODES:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            for key, value in item.items():
                yield str(key), value
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _xmp_strings(value: Any) -> list[str]:
    # An XMP property is a string, a dict with the text under 'text', or an rdf:Alt/Seq of those.
    if isinstance(value, str):
        return [value]
    return [v for _, v in _walk(value) if isinstance(v, str) and v.strip()][:5]


def _xmp(collector: _Collector, image: Any) -> None:
    try:
        xmp = image.getxmp()
    except Exception as error:  # noqa: BLE001 - malformed XML, entity bombs (defusedxml refuses them)
        collector.error("XMP", error)
        return
    for key, value in _walk(xmp):
        if key == "DigitalSourceType":
            for text in _xmp_strings(value):
                collector.source_type("xmp", key, text.strip())
        elif key == "CreatorTool":
            for text in _xmp_strings(value):
                collector.program("xmp", key, text.strip())


def _exif(collector: _Collector, image: Any) -> None:
    try:
        # Pillow reports damaged EXIF as a UserWarning on stderr; keep it in the report instead.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exif = image.getexif()
            main = {tag: exif.get(tag) for tag in (EXIF_SOFTWARE, EXIF_MAKE, EXIF_MODEL, EXIF_DESCRIPTION)}
            comment = exif.get_ifd(EXIF_IFD).get(EXIF_USER_COMMENT)
    except Exception as error:  # noqa: BLE001 - a malformed EXIF block
        collector.error("EXIF", error)
        return
    for warning in caught[:3]:
        collector.section.errors.append(f"EXIF is damaged ({' '.join(str(warning.message).split())[:200]})")
    if software := _as_text(main[EXIF_SOFTWARE]):
        collector.program("exif", "Software", software)
    device = " ".join(t for t in (_as_text(main[EXIF_MAKE]), _as_text(main[EXIF_MODEL])) if t)
    if device:
        collector.device("exif", "Make/Model", device)
    for key, text in (("UserComment", _user_comment(comment)), ("ImageDescription", _as_text(main[EXIF_DESCRIPTION]))):
        if text and "Steps:" in text and ("Sampler:" in text or "CFG scale:" in text):
            generator = _parameters_generator(text)
            collector.add("exif", key, text, "generator", generator,
                          f"the image was saved by {generator}, which writes the prompt and sampler settings "
                          "of a generated image into this tag")  # fmt: skip


def _iptc(collector: _Collector, image: Any) -> None:
    from PIL import IptcImagePlugin

    try:
        iptc = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception as error:  # noqa: BLE001 - a malformed IPTC block
        collector.error("IPTC", error)
        return
    program = _as_text(iptc.get(IPTC_ORIGINATING_PROGRAM))
    if program:
        version = _as_text(iptc.get(IPTC_PROGRAM_VERSION))
        collector.program("iptc", "OriginatingProgram", f"{program} {version}" if version else program)


def image_metadata(loaded: LoadedImage, settings: ProvenanceSettings) -> MetadataSection:
    """Findings from a still image's PNG text chunks, EXIF, XMP and IPTC. Never raises on the content.

    Raises:
        ProvenanceUnavailable: defusedxml (needed to parse XMP safely) is not installed.
    """
    require("defusedxml", "defusedxml")
    collector = _Collector(settings)
    image = loaded.image
    if image is None:
        if loaded.note:
            collector.section.errors.append(loaded.note)
        return collector.section
    # Text chunks before the pixels are in ``info`` from the header; ``text`` adds those after the
    # pixels, but reading it decodes the image, so only when the pixels were decoded already.
    chunks = {k: v for k, v in image.info.items() if isinstance(k, str) and isinstance(v, str)}
    if loaded.rgb is not None:
        try:
            chunks.update(getattr(image, "text", None) or {})
        except Exception as error:  # noqa: BLE001 - e.g. a zTXt chunk over Pillow's decompression limit
            collector.error("PNG text chunks", error)
    for key in ("comment", "Comment"):
        if key not in chunks and (value := _as_text(image.info.get(key))):
            chunks[key] = value  # JPEG COM / GIF comment
    _png_text(collector, chunks)
    if isinstance(chunks.get("comment"), str) and (generator := generator_in(chunks["comment"])):
        collector.add("png_text", "comment", chunks["comment"], "generator", generator,
                      f"the file's comment names {generator}, a generative-AI tool")  # fmt: skip
    _exif(collector, image)
    _xmp(collector, image)
    _iptc(collector, image)
    return collector.section


#: Container tags worth reading, and how.
_PROGRAM_TAGS = ("encoder", "software", "com.apple.quicktime.software", "encoding_tool", "tool")
_DEVICE_TAGS = ("make", "model", "com.apple.quicktime.make", "com.apple.quicktime.model", "com.android.manufacturer",
                "com.android.model")  # fmt: skip
_TEXT_TAGS = ("comment", "description", "encoded_by", "publisher", "handler_name")


def _container_tags(collector: _Collector, where: str, tags: dict[str, str]) -> None:
    lowered = {str(k).lower(): str(v) for k, v in tags.items()}
    for key in _PROGRAM_TAGS:
        if value := _as_text(lowered.get(key)):
            collector.program("container", f"{where}{key}", value)
    device = " ".join(v for k in _DEVICE_TAGS if (v := _as_text(lowered.get(k))))
    if device:
        collector.device("container", f"{where}make/model", device)
    for key in _TEXT_TAGS:
        value = _as_text(lowered.get(key))
        if value and (generator := generator_in(value)):
            collector.add("container", f"{where}{key}", value, "generator", generator,
                          f"the container's '{key}' tag names {generator}, a generative-AI tool")  # fmt: skip


def tags_metadata(
    container: dict[str, str], streams: list[tuple[int, str, dict[str, str]]], settings: ProvenanceSettings
) -> MetadataSection:
    """Findings from a video or audio container's tags, as the probe read them."""
    collector = _Collector(settings)
    _container_tags(collector, "", container)
    for index, kind, tags in streams:
        _container_tags(collector, f"stream {index} ({kind}): ", tags)
    return collector.section


def container_metadata(path: Path, settings: ProvenanceSettings) -> MetadataSection:
    """Findings from a video or audio container's tags (PyAV), for a file no probe has read. Never raises
    on the content."""
    import av

    from shared.media.probe import _quiet_ffmpeg

    _quiet_ffmpeg()
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = [(s.index, str(s.type), dict(s.metadata)) for s in container.streams]
            return tags_metadata(dict(container.metadata), streams, settings)
    except Exception as error:  # noqa: BLE001 - not a container FFmpeg knows, or a damaged one
        section = _Collector(settings).section
        # FFmpeg's messages carry the path; the report names files without their folders.
        section.errors.append(
            f"container tags could not be read ({type(error).__name__}: "
            f"{' '.join(str(error).replace(str(path), path.name).split())[:200]})"
        )
        return section
