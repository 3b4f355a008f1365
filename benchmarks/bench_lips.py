"""The lips check's benchmarks: what it adds to ``deepfake analyze``, and SyncNet's parity and cost.

:func:`lips_steps`: the lips check's step times against the rest of the analysis of the 10 s DFDC clip;
then :func:`syncnet_parity_and_cost`: SyncNet, the check's learned option, against the authors' model,
and its cost per second of video (alone with the ``syncnet`` subcommand). Benchmark only on an idle machine: both
print the load average before and after.

    .venv/bin/python benchmarks/bench_lips.py [--repeat 3] [--work DIR]
    .venv/bin/python benchmarks/bench_lips.py syncnet [--clip real_hyperlips_input_01.mp4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_analyze import CLIP, REPO, SHARED, add_options, prepare, run_analyze

LIPS_STEPS = ("face_landmarks", "lips")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)  # the default measurement's (lips_steps): --repeat, --work
    commands = parser.add_subparsers(dest="command", title="subcommands (none: the lips steps' share, then syncnet)")
    summary = (syncnet_parity_and_cost.__doc__ or "").splitlines()[0]
    syncnet = commands.add_parser("syncnet", help=summary, description=summary)
    syncnet.add_argument("--clip", default="real_hyperlips_input_01.mp4")
    syncnet.add_argument("--repeat", type=int, default=3)
    parser.set_defaults(clip="real_hyperlips_input_01.mp4")  # syncnet's, for the run without a subcommand
    args = parser.parse_args()
    if args.command == "syncnet":
        return syncnet_parity_and_cost(args)
    return lips_steps(args) or syncnet_parity_and_cost(args)  # both, as `make bench` runs it


def lips_steps(args: argparse.Namespace) -> int:
    """What the lips check adds to ``deepfake analyze`` on the 10 s DFDC clip (issue 19: at most 15 %).

    The check's own work is two clocked steps of the report's ``timings``: ``face_landmarks`` (the face mesh
    on every face crop) and ``lips`` (signals, offset search, null). Printed: their sum against the rest of
    the analysis (``total`` minus them), from the same runs. Steps run in parallel threads, so this is the
    work the check adds, an upper bound on the wall time it adds. Models as ``bench_analyze.py`` sets them
    up (random-weight EfficientNetAutoAttB4, AASIST from ``../shared/weights``, BlazeFace).
    """
    ready = prepare(args)
    if ready is None:
        return 2
    args, env, common = ready
    ratios, reports = [], []
    for _ in range(args.repeat):
        wall, _cpu, report = run_analyze([str(CLIP), *common], env, 1)
        timings = report["timings"]
        lips = sum(timings.get(step, 0.0) for step in LIPS_STEPS)
        rest = timings["total"] - lips
        ratios.append(lips / rest)
        reports.append((wall, lips, rest, report))
    wall, lips, rest, report = reports[-1]
    section = report.get("lips") or {}
    print(f"clip: {CLIP.name}, {report['media']['duration_s']:.1f} s; lips section: {section.get('status')} "
          f"({section.get('reason') or section.get('verdict')})")  # fmt: skip
    print(f"last run: whole process {wall:.2f} s; lips steps {lips:.2f} s; the rest of the analysis {rest:.2f} s")
    print(f"lips steps / rest of the analysis: median {statistics.median(ratios):.3f} over {len(ratios)} run(s) "
          "(target <= 0.15)")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def syncnet_parity_and_cost(args: argparse.Namespace) -> int:
    """SyncNet, the lips check's learned option: parity with the authors' model on real inputs, and its cost.

    On a real talking clip of ``../shared/media/talking/`` (every frame analysed, as SyncNet needs): the
    products are made once (faces, face mesh, soundtrack, speech activity), then

    1. **parity**: the IR's embeddings of the clip's own SyncNet inputs (the crops and MFCC windows the check
       builds) against the authors' ``SyncNetModel.S`` (the ``syncnet-python`` package, test-only) with the
       same random weights, max |difference| and the embeddings' own scale;
    2. **cost**: the seconds the SyncNet scoring takes (``shared.evidence.lips.syncnet.examine``: crops, MFCCs,
       both networks, distances) and the face-mesh signal's (``shared.evidence.lips.examine``) on the same
       products, per second of video; the face mesh itself and the face stage are products both share, not
       counted.

    The weights are random (``syncnet_v2.model`` is not shipped): the cost does not depend on their values.
    """
    clip = SHARED / "media" / "talking" / args.clip
    if not clip.is_file():
        print(f"{clip} not found (DEEPFAKE_SHARED_MATERIAL)", file=sys.stderr)
        return 2
    import torch

    sys.path.insert(0, str(REPO / "tests" / "lips"))  # the test's reference loader
    from test_syncnet import _randomise_norms, _reference_file

    import shared.evidence.lips as L
    from shared.analysis import AnalyzeOptions
    from shared.evidence.lips import syncnet as S
    from shared.media.probe import open_media
    from shared.pipeline import make_products

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    torch.manual_seed(0)
    reference = _reference_file("SyncNetModel.py").S(num_layers_in_fc_layers=1024)
    with torch.no_grad():
        _randomise_norms(reference, torch.Generator().manual_seed(0))
    reference.eval()
    work = Path(tempfile.mkdtemp(prefix="bench-syncnet-"))
    torch.save(reference.state_dict(), work / "syncnet_v2.model")
    from shared.evidence.lips.syncnet_import import import_syncnet

    import_syncnet(work / "syncnet_v2.model", work / "model")
    scorer = S.SyncNetScorer.from_folder(work / "model")

    options = AnalyzeOptions.from_settings(every=1, max_frames=100_000)
    source = open_media(clip)
    products = make_products(source, list(L.LipsEvidence.needs), options)
    inputs = (products["face_tracks"], products["face_landmarks"], products["waveform_16k"], products["speech_activity"], source)
    duration = float(source.facts.duration_s or 0.0)

    # parity on the clip's own inputs: capture what the check hands each network
    captured: dict[str, list[np.ndarray]] = {"lip": [], "audio": []}
    lip_fn, aud_fn = scorer.lip_embeddings, scorer.audio_embeddings

    def lip_capture(x: np.ndarray) -> np.ndarray:
        captured["lip"].append(x[:8].copy())
        return lip_fn(x)

    def aud_capture(x: np.ndarray) -> np.ndarray:
        captured["audio"].append(x[:64].copy())
        return aud_fn(x)

    scorer.lip_embeddings, scorer.audio_embeddings = lip_capture, aud_capture  # type: ignore[method-assign]
    found = S.examine(scorer, *inputs)
    scorer.lip_embeddings, scorer.audio_embeddings = lip_fn, aud_fn  # type: ignore[method-assign]
    lips, sound = (captured[k][0].astype(np.float32) for k in ("lip", "audio"))  # as _run feeds the IR
    with torch.no_grad():
        ref_lip = reference.forward_lip(torch.from_numpy(lips)).numpy()
        ref_aud = reference.forward_aud(torch.from_numpy(sound)).numpy()
    ours_lip, ours_aud = lip_fn(lips), aud_fn(sound)
    print(f"clip: {clip.name}, {duration:.1f} s; SyncNet section: "
          f"{[(t.track_id, t.overall, t.reason) for t in found.tracks]}")  # fmt: skip
    print(f"parity, lip embeddings ({len(lips)} windows of this clip): max |IR - reference| "
          f"{np.abs(ours_lip - ref_lip).max():.2e}, max |reference| {np.abs(ref_lip).max():.3g}")  # fmt: skip
    print(f"parity, audio embeddings ({len(sound)} windows): max |IR - reference| "
          f"{np.abs(ours_aud - ref_aud).max():.2e}, max |reference| {np.abs(ref_aud).max():.3g}")  # fmt: skip

    syncnet_s, mesh_s, cpu_s = [], [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        S.examine(scorer, *inputs)
        syncnet_s.append(time.perf_counter() - t)
        cpu_s.append(time.process_time() - c)
        t = time.perf_counter()
        L.examine(*inputs)
        mesh_s.append(time.perf_counter() - t)
    syncnet, mesh = statistics.median(syncnet_s), statistics.median(mesh_s)
    print(f"SyncNet scoring: {syncnet:.2f} s for {duration:.1f} s of video = {syncnet / duration:.3f} s per second "
          f"(median of {args.repeat}); the face-mesh signal on the same products: {mesh:.3f} s "
          f"= {mesh / duration:.4f} s per second")  # fmt: skip
    cpu = statistics.median(cpu_s)
    print(f"SyncNet scoring CPU time (all threads): {cpu:.2f} s = {cpu / duration:.3f} CPU s per second of video")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
