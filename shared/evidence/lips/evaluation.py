"""Measure the lips check on real talking clips and write its operating point (``shared/evidence/lips/operating_point.json``).

    python -m shared.evidence.lips.evaluation --manifest ../shared/media/manifest-talking.csv \
        --out shared/evidence/lips/operating_point.json --work /tmp/lips-eval \
        --table shared/evidence/lips/operating_point.measured.json

(``--reuse`` takes the decoded clips from an earlier run in ``--work``; both runs must be started this way, with
``-m``, since the cache is a pickle of this module's ``Clip``.)

What it measures, on the manifest's ``real`` clips (each analysed as ``deepfake analyze`` would: default
sampling, the face stage, the face mesh, the 16 kHz waveform, voice activity):

1. **Originals**: each clip as it is (the speaker's score; ``examine``).
2. **Delayed sound**: each clip re-muxed by ffmpeg with its audio ``-itsoffset +0.3`` s and analysed again from
   the file: the offset found minus the original's should be +300 ms.
3. **Swapped voices**: the mouth of clip B against the soundtrack of clip A, every ordered pair.
4. **Length**: the clips are 5-11 s long, too short to say how much speech a dependable verdict needs. Longer
   speech is simulated by placing k clips one after the other on one timeline (each clip's mouth with its own
   soundtrack; swapped: each mouth with another clip's soundtrack), k = 1..8 (about 6-51 s of speech), a fixed
   random sample of the joins. This is a simulation: real long footage has cuts, pauses and pose changes these
   joins do not, and one offset throughout where these join clips whose own offsets differ (-630 to +370 ms).
   The joins are not independent: 11 clips recur in all of them. So the same lengths are measured again
   without the real clip whose own sync is weakest (``without_weakest``), and the false alarms of the fake
   point are estimated leaving one clip out at a time (``false_fake_held_out``).

The rule that chooses the point is written in the file (``rule``) with every count behind it.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pickle
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.evidence import lips as L
from shared.modelcard import MeasuredRate, OperatingPoint

DELAY_S = 0.3
LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8)
MAX_COMBINATIONS = 60


@dataclass
class Clip:
    name: str
    mouth: L.MouthSignal
    envelope: L.Envelope
    speech_s: float
    original: L.SyncResult


def _products(path: Path) -> tuple[L.PreparedLips, L.Envelope]:
    from shared.media.probe import open_media
    from shared.pipeline import make_products

    source = open_media(path)
    try:
        made = make_products(source, list(L.LipsEvidence.needs))
        wave = made["waveform_16k"]
        prepared = L.examine(made["face_tracks"], made["face_landmarks"], wave, made["speech_activity"], source)
        envelope = L.speech_envelope(wave.samples, wave.rate, source.audio_start_s or 0.0)
        return prepared, envelope
    finally:
        source.close()


def _delayed(path: Path, work: Path) -> Path:
    out = work / f"delayed_{path.name}"
    command = [
        "ffmpeg", "-v", "error", "-y", "-i", str(path), "-itsoffset", f"{DELAY_S}", "-i", str(path),
        "-map", "0:v", "-map", "1:a", "-c", "copy", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return out


def _joined(pieces: list[tuple[L.MouthSignal, L.Envelope]]) -> tuple[L.MouthSignal, L.Envelope]:
    """Pieces one after the other on one timeline (each mouth cut to its soundtrack's span)."""
    times, values, env = [], [], []
    at = 0.0
    hop = pieces[0][1].hop_s
    for mouth, envelope in pieces:
        keep = (mouth.times_s >= envelope.start_s) & (mouth.times_s <= envelope.end_s)
        times.append(mouth.times_s[keep] - envelope.start_s + at)
        values.append(mouth.opening[keep])
        env.append(envelope.values)
        at += hop * len(envelope.values)
    return (
        L.MouthSignal(-1, np.concatenate(times), np.concatenate(values), float(pieces[0][0].face_px)),
        L.Envelope(0.0, hop, np.concatenate(env)),
    )


def _speech(clips: list[Clip]) -> float:
    return float(sum(c.speech_s for c in clips))


def _auc(negatives: list[float], positives: list[float]) -> float:
    """P(a swapped score > an original's), ties counted half."""
    n, p = np.asarray(negatives), np.asarray(positives)
    return float(((p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()) / (n.size * p.size))


def _permutation(n: int, k: int, index: int) -> tuple[int, ...]:
    """The ``index``-th ordered choice of ``k`` of ``range(n)`` in ``itertools.permutations`` order.

    Counted instead of listed: there are 6.7 million ways to join 8 of 11 clips.
    """
    pool, out = list(range(n)), []
    for position in range(k):
        block, index = divmod(index, math.perm(n - 1 - position, k - 1 - position))
        out.append(pool.pop(block))
    return tuple(out)


def _joins(n: int, k: int) -> list[tuple[int, ...]]:
    """Which clips are joined, in which order: every single clip, or a fixed random sample of the orders.

    A random sample, not the first orders, which would all start with the same clips; seeded by ``k`` so a
    re-run draws the same joins.
    """
    if k == 1:
        return [(i,) for i in range(n)]
    count = math.perm(n, k)
    picked = np.random.default_rng(k).choice(count, size=min(MAX_COMBINATIONS, count), replace=False)
    return [_permutation(n, k, int(i)) for i in sorted(picked)]


def _by_length(clips: list[Clip], lengths: tuple[int, ...]) -> list[dict]:
    """Originals and swapped voices at each length, each score with the clips it was made of."""
    rows = []
    for k in lengths:
        if k > len(clips):
            break
        originals, swapped, speech = [], [], []
        original_joins: list[list[int]] = []
        swapped_joins: list[list[int]] = []
        for combo in _joins(len(clips), k):
            chosen = [clips[i] for i in combo]
            if k == 1:
                got: L.SyncResult | None = chosen[0].original
            else:
                got = L.measure_sync(*_joined([(c.mouth, c.envelope) for c in chosen]))
            if got is not None:
                originals.append(got.score)
                original_joins.append(list(combo))
            speech.append(_speech(chosen))
            # the same mouths, each against another clip's soundtrack (a voice that is not theirs): one clip
            # against every other one, or each clip of a join against the next clip's of the same join
            if k == 1:
                pairs = [([combo[0]], [j]) for j in range(len(clips)) if j != combo[0]]
            else:
                pairs = [(list(combo), [combo[(j + 1) % k] for j in range(k)])]
            for mouths, voices in pairs:
                if k == 1:  # one clip: its mouth against the other soundtrack as it stands, not joined
                    got = L.measure_sync(clips[mouths[0]].mouth, clips[voices[0]].envelope)
                else:
                    got = L.measure_sync(
                        *_joined([(clips[m].mouth, clips[v].envelope) for m, v in zip(mouths, voices, strict=True)])
                    )
                if got is not None:
                    swapped.append(got.score)
                    swapped_joins.append(sorted(set(mouths) | set(voices)))
        rows.append(
            {
                "clips": k,
                "speech_s_median": round(float(np.median(speech)), 1),
                "originals": len(originals),
                "swapped": len(swapped),
                "original_scores": [round(s, 4) for s in originals],
                "swapped_scores": [round(s, 4) for s in swapped],
                "original_joins": original_joins,
                "swapped_joins": swapped_joins,
                "auc": round(_auc(originals, swapped), 3),
            }
        )
    return rows


def measure(manifest: Path, work: Path, *, reuse: bool = False) -> dict:
    """Every measurement of the module docstring, as one JSON-able dict."""
    work.mkdir(parents=True, exist_ok=True)
    folder = manifest.parent / manifest.stem.removeprefix("manifest-")
    rows = [r for r in csv.DictReader(manifest.open()) if r["label"] == "real"]
    cache = work / "clips.pkl"  # the slow part (decoding, faces, landmarks): reused by --reuse
    clips: list[Clip] = []
    delays: list[dict] = []
    if reuse and cache.is_file():
        clips, delays = pickle.loads(cache.read_bytes())
        rows = []
    for row in rows:
        path = folder / row["file"]
        prepared, envelope = _products(path)
        speaker = prepared.speaker
        if speaker is None or speaker.result is None:
            print(f"{row['file']}: not measured ({prepared.reason})", file=sys.stderr)
            continue
        clips.append(Clip(row["file"], speaker.signal, envelope, speaker.speech_s, speaker.result))
        late, _ = _products(_delayed(path, work))
        found = late.speaker.result.offset_s if late.speaker is not None and late.speaker.result else None
        delays.append(
            {
                "file": row["file"],
                "offset_ms": round(1000 * speaker.result.offset_s),
                "delayed_offset_ms": None if found is None else round(1000 * found),
                "recovered_ms": None if found is None else round(1000 * (found - speaker.result.offset_s)),
            }
        )
        print(f"{row['file']}: {delays[-1]}, sync {speaker.result.sync:.2f}", file=sys.stderr)
    if rows:
        cache.write_bytes(pickle.dumps((clips, delays)))
    by_length = _by_length(clips, LENGTHS)
    for r in by_length:
        print(f"{r['clips']} clip(s): AUC {r['auc']}, max original {max(r['original_scores']):.3f}", file=sys.stderr)
    # the joins share their clips, so one poorly synced real clip weighs on every join it is in: the same
    # lengths again without the real clip whose own sync is lowest, to show how much hangs on it
    weakest = min(clips, key=lambda c: c.original.sync)
    others = [c for c in clips if c is not weakest]
    return {
        "clips": [c.name for c in clips],
        "sync": {c.name: round(c.original.sync, 3) for c in clips},
        "delays": delays,
        "by_length": by_length,
        "without_weakest": {"clip": weakest.name, "clips": len(others), "by_length": _by_length(others, LENGTHS)},
    }


def _caught(rows: list[dict]) -> list[tuple[float, float]]:
    """Per length: its fake point, and the share of its swapped voices that point catches.

    A length's fake point is just above every original's score at that length and every longer one: the
    lengths at which a verdict would be given if the check started there (shorter ones abstain).
    """
    out = []
    for i, row in enumerate(rows):
        fake_at = float(min(1.0, max(max(r["original_scores"]) for r in rows[i:]) + 1e-3))
        out.append((fake_at, float(np.mean(np.asarray(row["swapped_scores"]) >= fake_at))))
    return out


def _fake_point(rows: list[dict]) -> tuple[int | None, float]:
    """The rule: the shortest length whose fake point catches at least half of its swapped voices.

    Returns that length's index and fake point, or None and the point just above every original at every
    length when no length is enough.
    """
    for i, (fake_at, share) in enumerate(_caught(rows)):
        if share >= 0.5:
            return i, fake_at
    return None, float(min(1.0, max(max(r["original_scores"]) for r in rows) + 1e-3))


def _without(rows: list[dict], clip: int) -> list[dict]:
    """The rows with every join that holds ``clip`` left out."""
    out = []
    for r in rows:
        keep_o = [i for i, j in enumerate(r["original_joins"]) if clip not in j]
        keep_s = [i for i, j in enumerate(r["swapped_joins"]) if clip not in j]
        if keep_o and keep_s:
            scores_o, scores_s = r["original_scores"], r["swapped_scores"]
            out.append({**r, "original_scores": [scores_o[i] for i in keep_o], "swapped_scores": [scores_s[i] for i in keep_s]})
    return out


def choose(measured: dict, command: str, chosen_on: str) -> L.LipsOperatingPoint:
    """The operating point, by the rule written into the file (``rule``)."""
    rows = measured["by_length"]
    enough, fake_at = _fake_point(rows)
    # the lengths at which a verdict is given: from the one found, or only the longest measured when none was
    first = enough if enough is not None else len(rows) - 1
    use = rows[first]
    swapped = np.asarray(use["swapped_scores"])
    real_below = float(min(fake_at, np.quantile(swapped, 0.05)))
    min_speech = float(use["speech_s_median"])
    if enough is not None:
        how = "measured"
    else:
        shares = [share for _, share in _caught(rows)]
        top = int(np.argmax(shares))
        best = (shares[top], rows[top])
        how = (
            f"NOT reached: at no length measured here (up to {use['speech_s_median']} s of speech, clips joined) "
            f"did the rule hold (at best {100 * best[0]:.0f} % caught, at {best[1]['speech_s_median']} s), so the "
            "check abstains below the longest length measured and fake_at stays above every original at every "
            f"length; the counts below are at {use['speech_s_median']} s"
        )
    verdict_rows = rows[first:]
    originals = np.concatenate([np.asarray(r["original_scores"]) for r in verdict_rows])
    per_length = {f"{r['clips']} clips joined, {r['speech_s_median']} s": r for r in verdict_rows}
    held_out = {}
    for c, name in enumerate(measured.get("clips", [])):
        # the fake point chosen without any join that holds this clip, tried on the joins that do
        _, fake_c = _fake_point(_without(rows, c))
        tried = [s for r in verdict_rows for s, j in zip(r["original_scores"], r["original_joins"], strict=True) if c in j]
        held_out[name] = MeasuredRate(called=int(sum(s >= fake_c for s in tried)), files=len(tried))
    point = OperatingPoint(
        fake_at=round(fake_at, 6),
        real_below=round(real_below, 6),
        aggregation="the speaker's track: normal tail probability of its sync against the null",
        max_seconds=float(use["speech_s_median"]),
        chosen_on=chosen_on,
        rule=(
            "fake_at: just above the highest score of any original at the length used and every longer one "
            "(single clips and clips joined into longer speech; shorter lengths abstain), so no original is "
            "called fake there; real_below: the 5 % quantile of the swapped voices' scores at the length used; "
            "min_speech_s: the median speech of the shortest joined length at which fake_at catches at least "
            f"half of the swapped voices ({how}). false_fake_held_out: per clip, the joins holding it called fake "
            "by the point this rule chooses without any join holding it"
        ),
        target_false_fake_rate=0.0,
        false_fake={
            "pooled": MeasuredRate(called=int((originals >= fake_at).sum()), files=int(originals.size)),
            **{
                k: MeasuredRate(called=int(sum(s >= fake_at for s in r["original_scores"])), files=len(r["original_scores"]))
                for k, r in per_length.items()
            },
        },
        false_fake_held_out=held_out,
        catch={
            "pooled": MeasuredRate(called=int((swapped >= fake_at).sum()), files=int(swapped.size)),
            **{
                k: MeasuredRate(called=int(sum(s >= fake_at for s in r["swapped_scores"])), files=len(r["swapped_scores"]))
                for k, r in per_length.items()
            },
        },
        missed_as_real={"pooled": MeasuredRate(called=int((swapped < real_below).sum()), files=int(swapped.size))},
        measured_with=command,
    )
    return L.LipsOperatingPoint(min_speech_s=min_speech, point=point)


def describe(manifest: Path, label: str) -> list[dict]:
    """Offset and sync of every clip of one label, as the check finds them (e.g. the lip-synced fakes)."""
    folder = manifest.parent / manifest.stem.removeprefix("manifest-")
    out = []
    for row in csv.DictReader(manifest.open()):
        if row["label"] != label:
            continue
        prepared, _ = _products(folder / row["file"])
        speaker = prepared.speaker
        result = speaker.result if speaker is not None else None
        out.append(
            {
                "file": row["file"],
                "offset_ms": None if result is None else round(1000 * result.offset_s),
                "sync": None if result is None else round(result.sync, 2),
                "score": None if result is None else round(result.score, 4),
                "speech_s": None if speaker is None else round(speaker.speech_s, 1),
                "reason": prepared.reason,
            }
        )
        print(json.dumps(out[-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.evidence.lips.evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="the operating point file to write")
    parser.add_argument("--describe", metavar="LABEL", help="only print offset and sync of the clips of LABEL")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lips-eval"), help="folder for re-muxed clips")
    parser.add_argument("--table", type=Path, help="also write every measurement here (JSON)")
    parser.add_argument("--reuse", action="store_true", help="reuse the clips measured by an earlier run in --work")
    args = parser.parse_args(argv)
    if args.describe:
        describe(args.manifest, args.describe)
        return 0
    if args.out is None:
        parser.error("--out is required to measure an operating point")
    command = "python -m shared.evidence.lips.evaluation " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    measured = measure(args.manifest, args.work, reuse=args.reuse)
    chosen_on = f"{len(measured['clips'])} real talking-head clips, their voices swapped, joined"
    point = choose(measured, command, chosen_on)
    args.out.write_text(point.model_dump_json(indent=2, exclude_none=True) + "\n")
    if args.table:
        args.table.write_text(json.dumps(measured, indent=1) + "\n")
    print(point.model_dump_json(indent=2, exclude_none=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
