"""Content Credentials (C2PA): read and validate a file's embedded manifest offline.

``read_c2pa(path, settings) -> C2paSection``. The reading and validation are the Content Authenticity
Initiative's own SDK (``c2pa-python``, the Rust ``c2pa-rs`` inside); this module decides what its answer
means for a report:

- The SDK runs in a child process (``_c2pa_child.py``) under an address-space limit and a timeout, so a
  hostile manifest costs at most ``c2pa_max_memory_mb`` and ``c2pa_timeout_s`` and a crash ends only the
  child (measured here: ~0.2 s per file for the child's start, SDK load and read of a 0.8 MB video).
- The network is off: ``remote_manifest_fetch`` and OCSP are disabled and the SDK's host allow-list is
  empty unless ``allow_remote_fetch`` names hosts. A manifest stored at a URL is reported as ``remote``.
- ``trusted`` only when a trust bundle is configured and the SDK chains the signer to it; otherwise a
  good signature is ``valid`` and the reason says the signer is not verified.
- ``invalid`` whenever validation reports a failure other than "signer not on the trust list"; a hash
  mismatch is reported as "changed after signing".
- The SDK answers "no manifest" for a store it cannot recognise (e.g. a damaged JUMBF header). To tell
  that from a file without C2PA, the bytes are scanned for the manifest store's JUMBF description box
  (``jumd`` + the ``c2pa`` UUID prefix, the same in every container): present but unreadable is
  ``unreadable``, never ``none``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from shared.errors import ConfigurationError
from shared.provenance._deps import require
from shared.provenance.section import C2paAction, C2paIngredient, C2paSection
from shared.settings import ProvenanceSettings

CHILD_SCRIPT = Path(__file__).with_name("_c2pa_child.py")

#: The JUMBF description box type followed by the first four bytes of the C2PA manifest store's UUID
#: (0x63327061 = "c2pa"). Every embedding (JPEG APP11, PNG caBX, BMFF uuid, RIFF C2PA, ID3 GEOB...)
#: carries the store as JUMBF, so this marker is format-independent.
C2PA_STORE_MARKER = b"jumdc2pa"

#: IPTC digital source types of generated or AI-edited media (https://cv.iptc.org/newscodes/digitalsourcetype/).
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "compositeSynthetic"}
)

#: Failure codes that only say the signer is not on the trust list: the manifest itself is intact.
TRUST_ONLY_CODES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})

MAX_ACTIONS = 100
MAX_INGREDIENTS = 50
MAX_CODES = 50
MAX_INGREDIENT_DEPTH = 16
_URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass
class ReaderOutcome:
    """What the child process answered (or why it did not)."""

    outcome: str  # store | none | too_large | error | failed
    store: dict[str, Any] | None = None
    embedded: bool = True
    remote_url: str | None = None
    error_type: str | None = None
    message: str = ""


def has_c2pa_marker(file: Path | BinaryIO, chunk_bytes: int = 1 << 20) -> bool:
    """Whether the file's bytes contain a C2PA manifest store marker (streamed, constant memory).

    ``file`` is a path or an open binary stream at its start (a view of an analysis' one open).
    """
    overlap = len(C2PA_STORE_MARKER) - 1
    tail = b""
    with file.open("rb") if isinstance(file, Path) else file as stream:
        while block := stream.read(chunk_bytes):
            if C2PA_STORE_MARKER in tail + block:
                return True
            tail = block[-overlap:]
    return False


def sdk_settings(settings: ProvenanceSettings) -> dict[str, Any]:
    """The c2pa-rs settings document: offline unless remote fetch is allowed, trust anchors if configured.

    Raises:
        ConfigurationError: the configured trust bundle is missing, too large or holds no certificate.
    """
    document: dict[str, Any] = {
        "verify": {
            "verify_after_reading": True,
            "verify_trust": True,
            "ocsp_fetch": False,
            "remote_manifest_fetch": settings.allow_remote_fetch,
        },
        # An empty allow-list blocks every request the SDK could make, not only manifest fetches.
        "core": {"allowed_network_hosts": list(settings.remote_allowed_hosts) if settings.allow_remote_fetch else []},
    }
    if settings.trust_bundle is not None:
        document["trust"] = {"trust_anchors": _read_trust_bundle(settings.trust_bundle, settings.max_trust_bundle_bytes)}
    return document


def _read_trust_bundle(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ConfigurationError(f"DEEPFAKE_PROVENANCE_TRUST_BUNDLE: cannot read {path}: {error}") from error
    if size > max_bytes:
        raise ConfigurationError(
            f"DEEPFAKE_PROVENANCE_TRUST_BUNDLE: {path} is {size} bytes, more than the {max_bytes} allowed"
        )
    text = path.read_text(encoding="ascii", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigurationError(f"DEEPFAKE_PROVENANCE_TRUST_BUNDLE: {path} holds no PEM certificate")
    return text


def run_reader(path: Path, settings: ProvenanceSettings, document: dict[str, Any]) -> ReaderOutcome:
    """Run the SDK on ``path`` in a bounded child process; every way it can fail becomes an outcome."""
    request = {
        "path": str(path.resolve()),
        "sdk_settings": document,
        "max_store_bytes": settings.max_manifest_bytes,
        "max_memory_bytes": settings.c2pa_max_memory_mb * 1024 * 1024,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(CHILD_SCRIPT)],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=settings.c2pa_timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ReaderOutcome("failed", message=f"the C2PA reader took longer than {settings.c2pa_timeout_s:g} s")
    if done.returncode != 0:
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        detail = f" ({_one_line(last[0], 200)})" if last[0] else ""
        return ReaderOutcome(
            "failed",
            message=f"the C2PA reader stopped with {how}{detail}; the memory limit is "
            f"{settings.c2pa_max_memory_mb} MB",
        )
    try:
        answer = json.loads(done.stdout)
        if answer["outcome"] == "store":
            store = json.loads(answer["store"])
            if not isinstance(store, dict):
                raise ValueError("the manifest store is not a JSON object")
            return ReaderOutcome("store", store=store, embedded=answer["embedded"], remote_url=answer["remote_url"])
        if answer["outcome"] == "too_large":
            return ReaderOutcome(
                "too_large",
                message=f"the manifest store is {answer['bytes']} bytes, more than the "
                f"{settings.max_manifest_bytes} taken in (DEEPFAKE_PROVENANCE_MAX_MANIFEST_BYTES)",
            )
        if answer["outcome"] == "error":
            return ReaderOutcome("error", error_type=str(answer["error_type"]), message=str(answer["message"]))
        return ReaderOutcome("none")
    except (ValueError, KeyError, TypeError) as error:
        return ReaderOutcome("failed", message=f"the C2PA reader's answer could not be read ({error})")


def read_c2pa(
    path: Path, settings: ProvenanceSettings, *, reader: Callable[[], BinaryIO] | None = None
) -> C2paSection:
    """Read and validate the file's Content Credentials. Never raises because of the file's content.

    The SDK reads ``path`` in its sandboxed child process; our own scan for a manifest marker reads
    through ``reader()`` (a view of the analysis' one open) when given, else opens ``path``.

    Raises:
        ProvenanceUnavailable: ``c2pa-python`` is not installed.
        ConfigurationError: the configured trust bundle cannot be used.
    """
    require("c2pa", "c2pa-python")
    document = sdk_settings(settings)
    outcome = run_reader(path, settings, document)
    if outcome.outcome == "store" and outcome.store is not None:
        try:
            return parse_store(
                outcome.store,
                trust_configured=settings.trust_bundle is not None,
                remote_url=None if outcome.embedded else outcome.remote_url,
                max_chars=settings.max_metadata_value_chars,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            return _unreadable(f"the manifest store has an unexpected shape ({_one_line(str(error), 200)})")
    if outcome.outcome == "error" and (outcome.error_type == "RemoteManifest" or outcome.message.startswith("Remote")):
        url = _URL.search(outcome.message)
        why = (
            f"they could not be fetched ({_one_line(outcome.message, 300)})"
            if settings.allow_remote_fetch
            else "they were not fetched (DEEPFAKE_PROVENANCE_ALLOW_REMOTE_FETCH is off)"
        )
        return C2paSection(
            state="remote",
            remote_url=url.group(0)[: settings.max_metadata_value_chars] if url else None,
            reason=f"the file references Content Credentials stored at a URL; {why}, so nothing is known about them",
        )
    if outcome.outcome in ("too_large", "failed"):
        return _unreadable(outcome.message)
    marker = has_c2pa_marker(reader() if reader is not None else path)
    if outcome.outcome == "error":
        what = f"{outcome.error_type}: {_one_line(outcome.message, 300)}"
        if marker:
            return _unreadable(f"the file carries C2PA data the reader could not read ({what})")
        return C2paSection(
            state="none",
            reason=f"no Content Credentials found; the C2PA reader could not parse this container ({what}) "
            "and its bytes hold no C2PA manifest store",
        )
    if marker:
        return _unreadable(
            "the file holds a C2PA manifest store marker but the reader found no readable manifest "
            "(damaged or malformed JUMBF)"
        )
    return C2paSection(
        state="none",
        reason="no Content Credentials in the file; most files carry none (few tools sign their output "
        "and many platforms strip it), so this is not evidence either way",
    )


def _unreadable(why: str) -> C2paSection:
    return C2paSection(state="unreadable", reason=f"{why}; nothing can be concluded from it")


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str) and value.strip():
        return _one_line(value, limit)
    return None


def _short_source_type(value: Any) -> str | None:
    """``http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`` -> the last segment."""
    if not isinstance(value, str) or not value:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1][:200]


def _software_agent(value: Any, limit: int) -> str | None:
    # A string in claims v1, an object {"name", "version"} in v2.
    if isinstance(value, dict):
        name, version = _text(value.get("name"), limit), _text(value.get("version"), 50)
        return f"{name} {version}" if name and version else name
    return _text(value, limit)


def _claim_generator(manifest: dict[str, Any], limit: int) -> str | None:
    if text := _text(manifest.get("claim_generator"), limit):
        return text
    parts = []
    for info in manifest.get("claim_generator_info") or []:
        if isinstance(info, dict) and (name := _text(info.get("name"), 100)):
            version = _text(info.get("version"), 50)
            parts.append(f"{name}/{version}" if version else name)
    return " ".join(parts)[:limit] or None


def _actions_of(manifest: dict[str, Any], *, in_ingredient: bool, limit: int) -> list[C2paAction]:
    found: list[C2paAction] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        entries = data.get("actions") if isinstance(data, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            source = _short_source_type(entry.get("digitalSourceType"))
            found.append(
                C2paAction(
                    action=_text(entry.get("action"), 200) or "(unnamed)",
                    digital_source_type=source,
                    software_agent=_software_agent(entry.get("softwareAgent"), limit),
                    ai=source in AI_SOURCE_TYPES,
                    in_ingredient=in_ingredient,
                )
            )
    return found


def _failure_codes(store: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(active manifest failure codes, ingredient failure codes), each in order, without repeats."""
    active: list[str] = []
    for entry in store.get("validation_status") or []:
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            active.append(entry["code"])
    results = store.get("validation_results") or {}
    for entry in (results.get("activeManifest") or {}).get("failure") or []:
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            active.append(entry["code"])
    ingredient: list[str] = []
    for delta in results.get("ingredientDeltas") or []:
        failures = ((delta or {}).get("validationDeltas") or {}).get("failure") or []
        ingredient.extend(e["code"] for e in failures if isinstance(e, dict) and isinstance(e.get("code"), str))
    return list(dict.fromkeys(active))[:MAX_CODES], list(dict.fromkeys(ingredient))[:MAX_CODES]


def _failure_reason(codes: list[str]) -> str:
    content = [c for c in codes if c.startswith("assertion.") and c.endswith("Hash.mismatch")]
    if content:
        return (
            f"the content changed after signing ({', '.join(content)}): the manifest no longer describes "
            "these bytes, so whatever it says cannot be relied on. This is tampering evidence, not proof "
            "that the content is fake"
        )
    if "claimSignature.mismatch" in codes:
        return (
            "the signature does not match the claim (claimSignature.mismatch): the manifest was altered "
            "after signing or forged"
        )
    if "assertion.hashedURI.mismatch" in codes:
        return "an assertion was altered after signing (assertion.hashedURI.mismatch)"
    return f"validation failed ({', '.join(codes) or 'the C2PA reader reports the manifest invalid'})"


def parse_store(
    store: dict[str, Any], *, trust_configured: bool, remote_url: str | None, max_chars: int
) -> C2paSection:
    """Turn the SDK's manifest store JSON into the report's C2PA part (bounded: lists capped, text cut)."""
    manifests = store.get("manifests") or {}
    if not isinstance(manifests, dict):
        raise TypeError("'manifests' is not an object")
    active = manifests.get(store.get("active_manifest"))
    if not isinstance(active, dict):
        return _unreadable("the manifest store has no active manifest")

    actions = _actions_of(active, in_ingredient=False, limit=max_chars)
    ingredients: list[C2paIngredient] = []
    # Walk the ingredients' own manifests (they are in the same store) for AI declarations upstream.
    visited = {store.get("active_manifest")}
    frontier = [(active, 0)]
    while frontier:
        manifest, depth = frontier.pop()
        for ingredient in manifest.get("ingredients") or []:
            if not isinstance(ingredient, dict):
                continue
            label = ingredient.get("active_manifest")
            if depth == 0 and len(ingredients) < MAX_INGREDIENTS:
                ingredients.append(
                    C2paIngredient(
                        title=_text(ingredient.get("title"), max_chars),
                        relationship=_text(ingredient.get("relationship"), 50),
                        has_manifest=isinstance(label, str) and label in manifests,
                    )
                )
            child = manifests.get(label) if isinstance(label, str) else None
            if isinstance(child, dict) and label not in visited and depth < MAX_INGREDIENT_DEPTH:
                visited.add(label)
                actions.extend(_actions_of(child, in_ingredient=True, limit=max_chars))
                frontier.append((child, depth + 1))
    ai_types = list(dict.fromkeys(a.digital_source_type for a in actions if a.ai and a.digital_source_type))

    signature = active.get("signature_info") or {}
    signer = _text(signature.get("issuer"), max_chars) or _text(signature.get("common_name"), max_chars)
    active_codes, ingredient_codes = _failure_codes(store)
    failures = [c for c in active_codes if c not in TRUST_ONLY_CODES]
    sdk_state = store.get("validation_state")

    section = C2paSection(
        state="valid",
        ai_declared=bool(ai_types),
        ai_source_types=ai_types,
        signer=signer,
        signer_name=_text(signature.get("common_name"), max_chars),
        signed_at=_text(signature.get("time"), 50),
        claim_generator=_claim_generator(active, max_chars),
        actions=actions[:MAX_ACTIONS],
        ingredients=ingredients,
        codes=list(dict.fromkeys(active_codes + ingredient_codes))[:MAX_CODES],
        manifests=len(manifests),
        remote_url=_text(remote_url, max_chars),
        reason="",
    )
    who = f"signed by {signer or 'an unnamed signer'}"
    if sdk_state == "Invalid" or failures:
        section.state = "invalid"
        section.reason = f"Content Credentials {who} fail validation: {_failure_reason(failures or active_codes)}"
        return section
    if sdk_state == "Trusted" and trust_configured:
        section.state = "trusted"
        section.signer_verified = True
        section.reason = f"Content Credentials {who} are intact and the signer chains to the configured trust bundle"
    elif trust_configured:
        section.reason = (
            f"Content Credentials {who} are intact, but the signer does not chain to the configured trust "
            "bundle: the signature shows the file is unchanged since signing, not who signed it"
        )
    else:
        section.reason = (
            f"Content Credentials {who} are intact; the signer is not verified (no trust bundle configured: "
            "DEEPFAKE_PROVENANCE_TRUST_BUNDLE), so the signature shows the file is unchanged since signing, "
            "not who signed it"
        )
    ingredient_failures = [c for c in ingredient_codes if c not in TRUST_ONLY_CODES]
    if ingredient_failures:
        section.reason += f"; an ingredient's own credentials fail validation ({', '.join(ingredient_failures)})"
    return section
