"""One media session per file: ``deepfake analyze`` opens the analysed file at most 3 times.

Counted with strace over the whole process tree (``-f``): every ``open``/``openat``/``openat2`` of the
file's path. The budget (issue 17): the probe's open, which every later reader shares through views
(``shared.media.session``), the decoders if they ever need their own, and the C2PA reader's sandboxed
child process. Before the dataflow an analysis opened each file 9 times.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
MAX_OPENS = 3

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (CI installs it)")


def opens_of(target: Path, args: list[str], tmp_path: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    """Run ``deepfake analyze`` under strace; how often ``target`` was opened, and the report."""
    log = tmp_path / f"{target.name}.strace"
    result = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", str(log),
         sys.executable, "-m", "shared.cli", "analyze", str(target), "--json", *args],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    needle = f'"{target}"'
    opens = [line for line in log.read_text().splitlines() if needle in line and "ENOENT" not in line]
    return len(opens), json.loads(result.stdout)


@pytest.fixture(scope="module")
def jpeg(face_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one_open") / "face.jpg"
    Image.open(face_image).convert("RGB").save(out, quality=90)
    return out


def test_a_jpeg_is_opened_at_most_three_times(jpeg: Path, video_model_dir: Path, tmp_path: Path) -> None:
    count, report = opens_of(jpeg, ["--video-model", str(video_model_dir)], tmp_path)
    assert report["media"]["kind"] == "image" and report["video"]["status"] == "analyzed"
    assert report["provenance"] is not None  # provenance read the same open (and its child the path)
    assert count <= MAX_OPENS, f"{jpeg.name} opened {count} times"


def test_a_video_with_speech_is_opened_at_most_three_times(
    face_video: Path, video_model_dir: Path, melcnn_model_dir: Path, tmp_path: Path
) -> None:
    count, report = opens_of(
        face_video,
        ["--frames", "3", "--video-model", str(video_model_dir), "--audio-model", str(melcnn_model_dir)],
        tmp_path,
    )
    assert report["media"]["kind"] == "video" and report["video"]["status"] == "analyzed"
    assert report["audio"]["status"] in ("analyzed", "not_applicable") and report["audio"]["duration_s"]
    assert count <= MAX_OPENS, f"{face_video.name} opened {count} times"


def test_an_audio_file_is_opened_at_most_three_times(
    speech_audio: Path, melcnn_model_dir: Path, tmp_path: Path
) -> None:
    count, report = opens_of(speech_audio, ["--audio-model", str(melcnn_model_dir)], tmp_path)
    assert report["media"]["kind"] == "audio" and report["audio"]["duration_s"]
    assert count <= MAX_OPENS, f"{speech_audio.name} opened {count} times"
