"""Every case of the hostile corpus through the real command: ``deepfake analyze --json`` in a subprocess.

Each run must end within 60 s with exit 0 and a report, or exit 2 and one line on stderr: never a
traceback, a crash (a signal) or a hang; and it must leave no file behind in its temporary folder, its
model cache or next to the input. Models are test-made (``video_model_dir``, ``melcnn_model_dir``), their
compiled OpenVINO blobs cached once for the session (the one folder that may grow).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile.corpus import Case, case_names

from shared.report import Report

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


@pytest.fixture(scope="session")
def cli_models(
    video_model_dir: Path,
    melcnn_model_dir: Path,
    face_detector_env: dict[str, str],
    generated_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """Model flags, converted face detectors and a warm OpenVINO cache: the first compilation is not what
    the 60 s limit is about, and each case's own model cache must stay empty."""
    ov_cache = tmp_path_factory.mktemp("hostile-ov-cache")
    # The generated-picture model converted once (a picture's first analysis converts it into the cache).
    detectors = {**face_detector_env, "DEEPFAKE_GENERATED_MODEL": str(generated_model_dir)}
    env = {"DEEPFAKE_OV_CACHE_DIR": str(ov_cache), **detectors}
    warm = tmp_path_factory.mktemp("warm") / "warm.mp4"
    from fixtures_media import _background, write_video

    write_video(warm, lambda i: _background(64, 64, i / 25), 4, audio_seconds=0.5)
    flags = ["--video-model", str(video_model_dir), "--audio-model", str(melcnn_model_dir)]
    done = _analyze(warm, flags, env, timeout=600)
    assert done.returncode == 0, done.stderr
    picture = warm.with_suffix(".png")  # compiles the generated-picture model into the warm cache too
    from PIL import Image

    Image.fromarray(_background(128, 128, 0.0)).save(picture)
    done = _analyze(picture, flags, env, timeout=600)
    assert done.returncode == 0, done.stderr
    return {"flags": json.dumps(flags), "ov_cache": str(ov_cache), "detectors": json.dumps(detectors)}


def _analyze(
    path: Path, flags: list[str], env: dict[str, str], timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "analyze", str(path), "--json", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(REPO), **env},
    )


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", case_names())
def test_hostile_case_through_the_cli(
    hostile_corpus: dict[str, Case], cli_models: dict[str, str], tmp_path: Path, name: str
) -> None:
    case = hostile_corpus[name]
    scratch, cache = tmp_path / "tmp", tmp_path / "cache"
    scratch.mkdir()
    cache.mkdir()
    inputs_before = _listing(case.path.parent)
    env = {
        "TMPDIR": str(scratch),
        "DEEPFAKE_CACHE_DIR": str(cache),
        "DEEPFAKE_OV_CACHE_DIR": cli_models["ov_cache"],
        **json.loads(cli_models["detectors"]),
    }
    try:
        done = _analyze(case.path, json.loads(cli_models["flags"]), env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: deepfake analyze ran past {TIMEOUT_S} s")
    err = done.stderr.strip()
    assert done.returncode in (0, 2), (
        f"{name}: exit {done.returncode} (a negative one is a signal): {err[-3000:]}"
    )
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    if case.expect == "refused":
        assert done.returncode == 2, f"{name}: expected a refusal, got a report"
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("deepfake: error: "), err
        assert case.path.name in lines[0] and done.stdout == ""
        if case.reason:
            assert case.reason in lines[0], lines[0]
    else:
        assert done.returncode == 0, f"{name}: expected a report: {err}"
        report = Report.model_validate_json(done.stdout)
        assert err == "", err  # nothing but the report: FFmpeg and library warnings stay quiet
        if case.verdict:
            assert report.verdict == case.verdict, (report.verdict, report.reasons)
        if case.reason:
            assert any(case.reason in r for r in report.reasons), report.reasons
        if case.audio_status:
            assert report.audio.status == case.audio_status, (report.audio.status, report.audio.reason)
    assert _listing(scratch) == set(), f"left in TMPDIR: {_listing(scratch)}"
    assert _listing(cache) == set(), f"left in the model cache: {_listing(cache)}"
    assert _listing(case.path.parent) == inputs_before, "files appeared next to the input"


# Prints each refused case's error code: one interpreter for all of them (the CLI prints only the message).
_CODES = """
import json, sys
from shared.errors import DeepfakeError
from shared.pipeline import AnalyzeOptions, analyze
for path in sys.argv[1:]:
    try:
        analyze(path, options=AnalyzeOptions(frames=1))
        print(json.dumps([path, None]), flush=True)
    except DeepfakeError as exc:
        print(json.dumps([path, exc.code]), flush=True)
"""


def test_refused_cases_carry_their_error_code(hostile_corpus: dict[str, Case]) -> None:
    """The code a service job fails with (``corrupt_media``, ``file_too_large``, ...) is the expected one."""
    refused = [c for c in hostile_corpus.values() if c.expect == "refused"]
    done = subprocess.run(
        [sys.executable, "-c", _CODES, *[str(c.path) for c in refused]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    codes = dict(json.loads(line) for line in done.stdout.splitlines() if line.startswith("["))
    wrong = {c.name: (codes.get(str(c.path)), c.code) for c in refused if codes.get(str(c.path)) != c.code}
    assert wrong == {}, wrong


def test_the_gateway_decides_uploads_as_the_corpus_says(hostile_corpus: dict[str, Case]) -> None:
    """``refused_at_upload`` is what the gateway's sniffing answers (415, or 422 for an empty upload)."""
    from shared.errors import BadInput

    pytest.importorskip("filetype", reason="the gateway extra is not installed")
    from gateway.media import SNIFF_BYTES, sniff_media

    wrong = {}
    for case in hostile_corpus.values():
        head = case.path.read_bytes()[:SNIFF_BYTES]
        try:
            if not head:
                raise BadInput("empty")  # the gateway's own check, before sniffing
            sniff_media(head)
            refused = False
        except BadInput:
            refused = True
        if refused != case.refused_at_upload:
            wrong[case.name] = refused
    assert wrong == {}
