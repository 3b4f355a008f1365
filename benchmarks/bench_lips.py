"""What the lips check adds to ``deepfake analyze`` on the 10 s DFDC clip (issue 19: at most 15 %).

The check's own work is two clocked steps of the report's ``timings``: ``face_landmarks`` (the face mesh
on every face crop) and ``lips`` (signals, offset search, null). Printed: their sum against the rest of
the analysis (``total`` minus them), from the same runs. Steps run in parallel threads, so this is the
work the check adds, an upper bound on the wall time it adds. Models as ``bench_analyze.py`` sets them
up (random-weight EfficientNetAutoAttB4, AASIST from ``../shared/weights``, BlazeFace). Benchmark only on
an idle machine: the load average is printed before and after.

    .venv/bin/python benchmarks/bench_lips.py [--repeat 3] [--work DIR]
"""

from __future__ import annotations

import os
import statistics
import sys

from bench_analyze import CLIP, run_analyze, setup

LIPS_STEPS = ("face_landmarks", "lips")


def main() -> int:
    ready = setup(__doc__.splitlines()[0])
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


if __name__ == "__main__":
    sys.exit(main())
