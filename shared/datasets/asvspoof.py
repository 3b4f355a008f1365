"""ASVspoof 2019 Logical Access (LA): flac folders and countermeasure protocol files.

Layout (see ``../shared/reference/asvspoof2019/README.md``)::

    LA/ASVspoof2019_LA_train/flac/LA_T_*.flac
    LA/ASVspoof2019_LA_dev/flac/LA_D_*.flac
    LA/ASVspoof2019_LA_eval/flac/LA_E_*.flac
    LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{train.trn,dev.trl,eval.trl}.txt

Protocol line: ``SPEAKER_ID FILE_ID - SYSTEM_ID KEY`` (system ``-`` for bona fide, ``A01``–``A19``
otherwise; key ``bonafide`` or ``spoof``). The dataset's own train/dev/eval become train/val/test; the
three have disjoint speakers, so the split is by speaker as the benchmark intends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.datasets.base import FAKE, REAL, Dataset, Sample, require_dir
from shared.errors import InvalidArgument

PROTOCOL_FOLDER = "ASVspoof2019_LA_cm_protocols"
PARTS = {
    "train": ("ASVspoof2019_LA_train", "ASVspoof2019.LA.cm.train.trn.txt"),
    "val": ("ASVspoof2019_LA_dev", "ASVspoof2019.LA.cm.dev.trl.txt"),
    "test": ("ASVspoof2019_LA_eval", "ASVspoof2019.LA.cm.eval.trl.txt"),
}


@dataclass(frozen=True)
class ProtocolEntry:
    speaker: str
    file_id: str
    system: str | None
    key: str

    @property
    def label(self) -> int:
        """1 = spoof (fake), 0 = bona fide."""
        return FAKE if self.key == "spoof" else REAL


def parse_protocol(path: Path) -> list[ProtocolEntry]:
    """Parse a countermeasure protocol file.

    Raises:
        InvalidArgument: naming the first malformed line (wrong column count, unknown key).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidArgument(f"ASVspoof protocol {path} is not readable ({exc.strerror})") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 5 or cols[4] not in ("bonafide", "spoof"):
            raise InvalidArgument(
                f"ASVspoof protocol {path.name} line {number}: expected "
                f"'SPEAKER FILE - SYSTEM bonafide|spoof', got {line.strip()!r}"
            )
        speaker, file_id, _, system, key = cols
        entries.append(ProtocolEntry(speaker, file_id, None if system == "-" else system, key))
    return entries


def find_la_root(root: Path) -> Path:
    """``root`` itself or its ``LA/`` sub-folder, whichever holds the protocol folder."""
    root = require_dir(root, "ASVspoof 2019 LA data")
    for candidate in (root, root / "LA"):
        if (candidate / PROTOCOL_FOLDER).is_dir():
            return candidate
    raise InvalidArgument(f"ASVspoof 2019 LA data: no {PROTOCOL_FOLDER}/ in {root} or {root / 'LA'}")


def read_asvspoof2019_la(root: Path, *, parts: tuple[str, ...] = ("train", "val", "test")) -> Dataset:
    """Read the LA parts present under ``root``; protocol lines without their flac file are skipped.

    Args:
        parts: which of ``train``/``val``/``test`` (= train/dev/eval) to read; absent ones are skipped.
    """
    la = find_la_root(root)
    samples: list[Sample] = []
    missing = 0
    read_any = False
    for split in parts:
        folder, protocol_name = PARTS[split]
        protocol = la / PROTOCOL_FOLDER / protocol_name
        if not protocol.is_file():
            continue
        read_any = True
        flac_dir = la / folder / "flac"
        for entry in parse_protocol(protocol):
            path = flac_dir / f"{entry.file_id}.flac"
            if not path.is_file():
                missing += 1
                continue
            samples.append(
                Sample(
                    path=path,
                    label=entry.label,
                    group=f"asvspoof2019:{entry.speaker}",
                    source=entry.system or "bonafide",
                    split=split,
                    attack=entry.system,
                    meta={"id": entry.file_id, "speaker": entry.speaker},
                )
            )
    if not read_any:
        raise InvalidArgument(f"ASVspoof 2019 LA data: no protocol file for {', '.join(parts)} in {la / PROTOCOL_FOLDER}")
    notes = "train/dev/eval = train/val/test (disjoint speakers)"
    if missing:
        notes += f"; {missing} protocol entries without their flac file were skipped"
    return Dataset("ASVspoof2019-LA", la, "asvspoof2019", samples, notes)
