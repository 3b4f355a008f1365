"""Stage costs and the progress trace of one analysis (``shared.stages.UnitCosts``, ``WorkProgress``).

    PYTHONPATH=. python benchmarks/progress_costs.py FILE --video-model DIR --audio-model DIR

Prints the report's seconds per step, the unit costs they imply (the numbers ``UnitCosts`` holds) and
the (time, stage, fraction, share) trace of the run, with the time at which the share reached 50 % and
95 % as fractions of the wall time. State the machine load (``uptime``) beside any number you keep.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--video-model", type=Path, required=True)
    parser.add_argument("--audio-model", type=Path, required=True)
    args = parser.parse_args()

    from shared.analysis import AnalyzeOptions
    from shared.media.probe import open_media
    from shared.pipeline import analyze
    from shared.roles import get_role
    from shared.stages import WorkProgress, work_for

    scorers = {"video": get_role("video").load_local(args.video_model), "audio": get_role("audio").load_local(args.audio_model)}
    source = open_media(args.file)
    options = AnalyzeOptions.from_settings()
    work = work_for(source, options, scorers)
    share = WorkProgress(work)
    trace: list[tuple[float, str, float, float]] = []
    started = time.perf_counter()

    def progress(stage: str, fraction: float) -> None:
        trace.append((time.perf_counter() - started, stage, fraction, share.update(stage, fraction)))

    try:
        report = analyze(args.file, scorers=scorers, options=options, progress=progress, source=source)
    finally:
        source.close()
    wall = time.perf_counter() - started
    print(f"load {os.getloadavg()[0]:.2f}; wall {wall:.2f} s; expected work {work}")
    t = report.timings
    facts = report.media
    frames = facts.frame_count or 0
    mp = (facts.width or 0) * (facts.height or 0) / 1e6
    sampled = report.video.frames_analyzed
    print("timings:", t)
    if frames and mp:
        print(f"decode_per_megapixel_frame {t.get('decode', 0) / (frames * mp):.4f}")
    if sampled:
        print(f"crop_per_frame {t.get('crop_faces', 0) / sampled:.4f}; score_per_face {t.get('score_video', 0) / sampled:.4f}")
    if report.audio.duration_s:
        audio = t.get("load_audio", 0) + t.get("speech_activity", 0) + t.get("score_audio", 0)
        print(f"audio_per_second {audio / report.audio.duration_s:.4f}")
    print(f"provenance {t.get('provenance', 0):.3f}; detect_faces total {t.get('detect_faces', 0):.3f}")
    for when, stage, fraction, value in trace:
        print(f"{when:7.2f} s  {stage:20s} {fraction:5.2f}  share {value:.3f}")
    for mark in (0.5, 0.95):
        at = next(w for w, _, _, v in trace if v >= mark)
        print(f"{int(mark * 100)} % at {at:.2f} s = {at / wall:.2f} of the wall time")


if __name__ == "__main__":
    main()
