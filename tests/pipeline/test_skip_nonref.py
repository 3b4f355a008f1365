"""Decoding skips the frames nothing else needs (``shared.media.video.iter_frames``, ``skip_frame=NONREF``).

H.264 and HEVC mark frames that no other frame is predicted from; a frame the analysis did not sample and
that is such a frame is dropped by the decoder unseen. The oracle is the same decoder decoding everything:
the frames the analysis wanted must come out the same, to the byte, whether others were skipped or not.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from shared.media import video
from shared.media.probe import open_media

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg makes the test clips")


def _clip(path: Path, codec: list[str]) -> Path:
    # B-frames that are not references (x264: no B-pyramid; x265: its default B-frames), keyframes every 48
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", *codec, "-g", "48",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


CODECS = {
    "h264": ["-c:v", "libx264", "-preset", "medium", "-bf", "3", "-x264-params", "b-pyramid=none"],
    "hevc": ["-c:v", "libx265", "-preset", "medium", "-x265-params", "bframes=3:b-pyramid=0:log-level=error"],
}


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_the_sampled_frames_are_the_same_whether_unneeded_frames_are_skipped_or_not(
    codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import av

    clip = _clip(tmp_path / f"clip_{codec}.mp4", CODECS[codec])
    with av.open(str(clip)) as container:  # the clip has frames the decoder can skip (else this tests nothing)
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        kept = sum(1 for _ in container.decode(stream))
    source = open_media(clip)
    try:
        count = source.video.frame_count
        assert count == 150 and kept < count * 0.8, (codec, kept)
        assert codec in video.SKIP_NONREF_CODECS
        for wanted in (list(range(0, count, 5)), list(range(1, count, 2)), [3, 4, 77, 149], list(range(count))):
            skipped = list(video.iter_frames(source, wanted))
            with monkeypatch.context() as m:
                m.setattr(video, "SKIP_NONREF_CODECS", frozenset())
                everything = list(video.iter_frames(source, wanted))
            assert [f.index for f in skipped] == [f.index for f in everything] == wanted
            for a, b in zip(skipped, everything, strict=True):
                np.testing.assert_array_equal(a.rgb, b.rgb)
    finally:
        source.close()
