"""Long, thinly sampled videos are sampled in short runs from keyframes (``shared.media.video.keyframe_runs``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from shared.media.video import frames_decoded, keyframe_runs


def test_the_decoding_walk_counts_frames_from_each_targets_keyframe() -> None:
    keys = [0, 100, 200]
    assert frames_decoded(keys, [0]) == 1
    assert frames_decoded(keys, [50]) == 51  # from keyframe 0 to 50
    assert frames_decoded(keys, [50, 60]) == 61  # goes on from 51 to 60
    assert frames_decoded(keys, [50, 150]) == 51 + 51  # seeks to 100 for 150
    assert frames_decoded(keys, [10, 90, 110]) == 91 + 11


def test_thin_sampling_moves_to_runs_and_dense_sampling_does_not() -> None:
    # 10 minutes at 30 fps, a keyframe every 150 frames (5 s), 300 frames sampled 60 apart (2 s):
    # the exact sampling decodes most frames: per 300 frames (samples 0, 60, 120 | 180, 240) it decodes
    # 0..120, then seeks to 150 and decodes 150..240: 121 + 91 = 212.
    keys, count = list(range(0, 18000, 150)), 18000
    wanted = list(range(0, 18000, 60))
    assert frames_decoded(keys, wanted) == 60 * 212
    runs = keyframe_runs(keys, wanted, 2, count)
    assert runs is not None and len(runs) == len(wanted)
    # keyframe 0 had samples 0, 60, 120 after it -> its run is 0, 2, 4; keyframe 150 had 180, 240 -> 150, 152
    assert runs[:5] == [0, 2, 4, 150, 152]
    assert frames_decoded(keys, runs) == 120 * 5 - (120 - 60) * 2  # runs of 3 frames decode 5, of 2 decode 3
    # 10 s sampled every 2nd frame: exact is as cheap as anything, so the sampling stays exact
    assert keyframe_runs([0, 163], list(range(0, 300, 2)), 2, 300) is None
    assert keyframe_runs([0], list(range(0, 18000, 60)), 2, 18000) is None  # one keyframe: nowhere to start


@pytest.fixture(scope="module")
def long_sparse_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 s at 10 fps, 96x64, a keyframe every 5 s, each frame's index drawn into its pixels."""
    from fixtures_media import write_video

    def frame(i: int) -> np.ndarray:
        rgb = np.zeros((64, 96, 3), np.uint8)
        rgb[:, :, 0] = (i % 50) * 5  # steps of 5 grey levels survive the encoder's rounding
        rgb[:, :, 1] = (i // 50) * 12
        return rgb

    path = tmp_path_factory.mktemp("runs") / "long.mp4"
    return write_video(path, frame, 900, fps=10, gop=50)


def test_a_long_video_is_decoded_in_runs_that_start_at_its_keyframes(long_sparse_video: Path) -> None:
    from shared.pipeline import AnalyzeOptions, analyze

    keyframes = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-skip_frame", "nokey", "-show_entries",
         "frame=pts_time", "-of", "csv=p=0", str(long_sparse_video)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    key_times = sorted(round(float(t.strip(",")), 2) for t in keyframes if t.strip(","))
    assert len(key_times) == 18  # ffprobe, not our probe: every 5 s
    options = AnalyzeOptions.from_settings(every=1, max_frames=40)
    report = analyze(long_sparse_video, options=options)
    v = report.video
    assert v is not None and v.sampling.keyframe_runs == 18 and v.frames_analyzed == 40
    times = [f.time_s for f in v.frames]
    # each run starts on a keyframe and its frames follow it one apart (every=1 at 10 fps: 0.1 s)
    starts = [t for n, t in enumerate(times) if n == 0 or t - times[n - 1] > 0.15]
    assert [round(t, 2) for t in starts] == key_times
    assert any("short runs" in reason for reason in report.reasons)
    # the frames decoded are those frames (the index drawn into the pixels)
    from shared.media.video import decode_frames

    decoded = decode_frames(long_sparse_video, [f.index for f in v.frames])
    drawn = [round(np.median(d.rgb[:, :, 0]) / 5) + 50 * round(np.median(d.rgb[:, :, 1]) / 12) for d in decoded]
    assert drawn == [f.index for f in v.frames]
    # Turned off, the same options sample exactly (and say nothing of runs)
    exact = analyze(long_sparse_video, options=AnalyzeOptions.from_settings(every=1, max_frames=40, keyframe_runs=False))
    assert exact.video is not None and exact.video.sampling.keyframe_runs is None
    assert [f.index for f in exact.video.frames] == np.unique(np.linspace(0, 899, 40).astype(int)).tolist()
