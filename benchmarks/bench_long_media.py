"""Long media: does the faces verdict stay put as a video of real people gets longer, and what does it cost?

A ten-minute interview is one person. Sampled 300 times, its frames are two seconds apart; the faces
verdict is that of the most suspicious *person* (track), so a tracker that loses people between sparse
frames turns one person into hundreds of one-face "people" and the verdict into the most suspicious of
hundreds of single noisy faces: the longer the video, the likelier a false alarm.

This script makes long real clips by looping the real videos of ``../shared/media`` (``ffmpeg -stream_loop
-c copy``: no re-encoding) to about 1 and 10 minutes, and concatenations of different real people, and runs
the whole in-process analysis on each in its own process (default sampling, MTCNN). It prints, per clip and
length: the people (tracks) found and counted, the faces verdict and score, wall time against the clip's
duration and peak memory, with the machine's load. Nothing is asserted: read the table.

The face model is the test suite's: EfficientNetAutoAttB4 with random weights whose BatchNorm statistics and
last layer come from real faces (``tests/fixtures_models.py``), so its logits spread like a trained model's
without the published weights (which cannot be downloaded here). The share of real clips called fake is a
property of the tracking and the aggregation rule with *that* network, not a measured false-alarm rate of
the published model; give ``--video-model`` a published model folder to measure that.

    .venv/bin/python benchmarks/bench_long_media.py [--video-model DIR] [--ten-minutes N] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
SHARED = Path(os.environ.get("DEEPFAKE_SHARED_MATERIAL", REPO.parent / "shared"))


def real_videos() -> list[Path]:
    """The real videos of the shared media (manifests' label ``real``), shortest name first."""
    import csv

    media = SHARED / "media"
    found = []
    for manifest, column, folder in (("manifest-visual.csv", "path", ""), ("manifest-talking.csv", "file", "talking")):
        with open(media / manifest, newline="") as f:
            for row in csv.DictReader(f):
                path = media / folder / row[column]
                if row["label"] == "real" and path.suffix == ".mp4" and path.is_file():
                    found.append(path)
    return sorted(found)


def duration_of(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )
    return float(out.stdout.strip())


def looped(src: Path, seconds: float, work: Path) -> Path:
    """``src`` repeated (stream copy) until it lasts at least ``seconds``."""
    loops = max(0, int(seconds // duration_of(src)))
    out = work / f"{src.stem}_x{loops + 1}.mp4"
    if not out.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(src), "-c", "copy", str(out)],
            check=True,
        )
    return out


def concatenated(sources: list[Path], work: Path) -> Path:
    """Different real people one after another (re-encoded to one size: a cut between interviews)."""
    out = work / f"concat_{len(sources)}.mp4"
    if not out.exists():
        inputs = [a for s in sources for a in ("-i", str(s))]
        chains = "".join(f"[{i}:v]scale=1280:720,setsar=1,fps=25[v{i}];" for i in range(len(sources)))
        joined = "".join(f"[v{i}]" for i in range(len(sources)))
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex",
             f"{chains}{joined}concat=n={len(sources)}:v=1:a=0[out]", "-map", "[out]",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(out)],
            check=True,
        )
    return out


def analyse_one(path: Path, video_model: Path, audio_model: Path | None) -> dict[str, object]:
    """In this process: the whole analysis of one file (every kind of evidence that applies; voice only
    when ``audio_model`` is given), its faces section, wall time and peak memory."""
    from shared.audio_scoring import AudioScorer
    from shared.pipeline import AnalyzeOptions, analyze
    from shared.video_scoring import FaceScorer

    start = time.perf_counter()
    report = analyze(
        path,
        face_scorer=FaceScorer.from_folder(video_model),
        audio_scorer=AudioScorer.from_folder(audio_model) if audio_model else None,
        options=AnalyzeOptions.from_settings(),
    )
    wall = time.perf_counter() - start
    v = report.video
    return {
        "tracks": len(v.tracks),
        "counted": sum(t.counted for t in v.tracks),
        "frames": v.frames_analyzed,
        "scored": sum(t.faces_scored or 0 for t in v.tracks),
        "runs": v.sampling.keyframe_runs if v.sampling else None,
        "verdict": v.verdict,
        "score": v.score,
        "wall_s": wall,
        "stages": {k: round(x, 1) for k, x in report.timings.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def audio_model(work: Path) -> Path | None:
    """AASIST from ``../shared/weights`` as a model folder (the voice check runs as in ``deepfake analyze``)."""
    source = SHARED / "weights" / "aasist" / "AASIST.pth"
    if not source.is_file():
        return None
    folder = work / "AASIST"
    if not (folder / "model.json").exists():
        from shared.models.aasist import import_checkpoint

        import_checkpoint("AASIST", source, folder)
    return folder


def make_model(work: Path) -> Path:
    from fixtures_models import VIDEO_TEST_ARCH, build_calibrated_model, collect_faces

    from shared.models.icpr import import_checkpoint, save_published_checkpoint

    folder = work / "video_model"
    if not (folder / "model.json").exists():
        faces = collect_faces(SHARED / "media", None)
        model = build_calibrated_model(VIDEO_TEST_ARCH, faces.faces, seed=0)
        import_checkpoint(VIDEO_TEST_ARCH, save_published_checkpoint(model, work / "video.pth"), folder)
    return folder


def seed_blazeface() -> None:
    """BlazeFace, the default face detector, into the model cache from ``../shared/weights`` (it cannot be
    downloaded here; a user's machine fetches it)."""
    import shutil

    from shared.weights import downloads_dir

    source = SHARED / "weights" / "blazeface"
    downloads_dir().mkdir(parents=True, exist_ok=True)
    for name in ("blazeface.pth", "anchors.npy"):
        if (source / name).is_file() and not (downloads_dir() / name).is_file():
            shutil.copy(source / name, downloads_dir() / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video-model", type=Path, help="model folder (default: the test network, made once)")
    parser.add_argument("--ten-minutes", type=int, default=3, help="how many real clips to also loop to 10 minutes")
    parser.add_argument("--work", type=Path, default=Path("/tmp/deepfake-long-media"))
    parser.add_argument("--no-voice", action="store_true", help="leave the voice check out (faces only)")
    parser.add_argument("--only", choices=("original", "1 min", "10 min", "concat", "1 min 1080p", "10 min 1080p"), action="append",
                        help="run only these lengths (repeatable)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: analyse one file, print JSON
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    seed_blazeface()
    model = args.video_model or make_model(args.work)
    voice = None if args.no_voice else audio_model(args.work)
    if args.one:
        print(json.dumps(analyse_one(args.one, model, voice)))
        return
    reals = real_videos()
    runs: list[tuple[str, str, Path]] = []
    for n, src in enumerate(reals):
        runs.append((src.stem, "original", src))
        runs.append((src.stem, "1 min", looped(src, 60, args.work)))
        if n < args.ten_minutes:
            runs.append((src.stem, "10 min", looped(src, 600, args.work)))
    runs.append(("4 real people, cut together", "concat", concatenated(reals[:4], args.work)))
    # Speed and memory on 1080p (the clip: DFDC, one person; labelled fake, so its verdicts are not
    # counted among the real clips' calls)
    dfdc = SHARED / "media" / "video" / "dfdc_trainsample_abofeumbvv.mp4"
    if dfdc.is_file():
        runs += [(dfdc.stem, f"{n} 1080p", looped(dfdc, s, args.work)) for n, s in (("1 min", 60), ("10 min", 600))]
    if args.only:
        runs = [r for r in runs if r[1] in args.only]
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    print(f"voice check: {'AASIST' if voice else 'left out'}; 'scored': faces the face model scored; 'runs': "
          "keyframe runs the frames were taken in (blank: exact sampling)")
    header = (f"{'clip':36} {'length':>8} {'dur s':>6} {'frames':>6} {'scored':>6} {'runs':>5} {'tracks':>6} "
              f"{'counted':>7} {'verdict':>9} {'score':>6} {'wall s':>7} {'wall/dur':>8} {'RSS MB':>7} {'load':>5}")
    print(header)
    calls: dict[str, list[bool]] = {}
    for name, length, path in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(path), "--video-model", str(model), "--work", str(args.work),
             *(["--no-voice"] if args.no_voice else [])],
            capture_output=True, text=True, check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        dur = duration_of(path)
        if "1080p" not in length:
            calls.setdefault(length, []).append(r["verdict"] == "fake")
        print(
            f"{name[:36]:36} {length:>8} {dur:6.0f} {r['frames']:6d} {r['scored']:6d} {r['runs'] or '':>5} "
            f"{r['tracks']:6d} {r['counted']:7d} {r['verdict']:>9} {r['score']:6.3f} {r['wall_s']:7.1f} "
            f"{r['wall_s'] / dur:8.2f} {r['peak_rss_mb']:7.0f} {os.getloadavg()[0]:5.2f}",
            flush=True,
        )
        if length.startswith("10 min"):
            print(f"  stages (s): {r['stages']}", flush=True)
    print("real clips called fake, by length:", ", ".join(f"{k}: {sum(v)}/{len(v)}" for k, v in calls.items()))


if __name__ == "__main__":
    main()
