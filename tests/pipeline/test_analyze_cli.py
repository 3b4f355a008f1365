"""``deepfake analyze`` as a newcomer runs it: the real command in a subprocess, and in-process on every
file of ../shared/media (models compiled once for the session)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.report import Report

REPO = Path(__file__).resolve().parents[2]


def deepfake(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "analyze", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "2", **(env or {})},
    )


@pytest.mark.parametrize(
    "name", ["missing", "empty", "directory", "not_media", "random_bytes", "truncated", "no_usable_stream"]
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(bad_inputs: dict[str, Path], name: str) -> None:
    result = deepfake(str(bad_inputs[name]), "--json")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepfake: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert bad_inputs[name].name in lines[0]


def test_the_old_detector_flag_still_works_with_a_deprecation_warning(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    old = deepfake(str(missing), "--detector", "mtcnn")
    new = deepfake(str(missing), "--face-detector", "mtcnn")
    assert old.returncode == new.returncode == 2  # both reach the file (and refuse it), flags accepted
    assert "--detector is deprecated; use --face-detector" in old.stderr
    assert "deprecated" not in new.stderr


def test_conflicting_sampling_flags_are_refused() -> None:
    result = deepfake("whatever.mp4", "--every", "2", "--frames", "3")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


def test_json_report_of_a_video(face_video: Path, video_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    heat = tmp_path / "heat"
    result = deepfake(
        str(face_video), "--json", "--frames", "3", "--video-model", str(video_model_dir),
        "--out", str(out), "--heatmaps", str(heat),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = Report.model_validate_json(result.stdout)  # stdout is the report and nothing else
    assert json.loads(out.read_text()) == json.loads(result.stdout)
    assert report.video.frames_analyzed == 3 and report.video.frames_with_faces == 3
    assert report.video.model.version == report.models["video"]
    assert len(list(heat.glob("frame*_track0.png"))) == 3
    assert "Traceback" not in result.stderr


def test_human_summary_and_not_applicable_exit_0(no_face_video: Path, video_model_dir: Path) -> None:
    result = deepfake(str(no_face_video), "--frames", "2", "--video-model", str(video_model_dir))
    assert result.returncode == 0, result.stderr
    assert "verdict: NOT APPLICABLE" in result.stdout
    assert "no face found in any of the 2 sampled frames" in result.stdout
    assert "time:" in result.stdout


def test_unavailable_video_model_is_one_clear_line(face_image: Path) -> None:
    # The cache is empty and the download address unreachable (tests/conftest.py).
    result = deepfake(str(face_image), "--video-model", "EfficientNetAutoAttB4_DFDC")
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "EfficientNetAutoAttB4_DFDC" in lines[0]
    assert "fetch" in lines[0]  # says how to get it


def _analyze_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> Report:
    from shared.cli import main

    code = main(["analyze", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return Report.model_validate_json(captured.out)


def _assert_verdicts_follow_the_rule(report: Report) -> None:
    """Each section's verdict is its score against its own band; the overall one is the fusion rule's."""
    from shared.pipeline import fuse
    from shared.scoring import verdict_for

    for section in (report.video, report.audio):
        if section.status == "analyzed":
            assert section.band is not None and section.verdict == verdict_for(section.score, section.band)
        else:
            assert section.verdict == "not_applicable"
    assert (report.verdict, report.score) == fuse([report.video, report.audio, report.provenance, report.lips, report.generated])


def test_every_shared_video_and_image(
    shared_media: Path, video_model_dir: Path, aasist_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.DictReader((shared_media / "manifest-visual.csv").open()))
    for row in rows:
        path = shared_media / row["path"]
        report = _analyze_in_process(
            capsys, str(path), "--frames", "6", "--video-model", str(video_model_dir),
            "--audio-model", str(aasist_model_dir),
        )  # fmt: skip
        assert report.media.sha256 and report.media.kind in ("video", "image"), row["path"]
        _assert_verdicts_follow_the_rule(report)
        if report.media.kind == "video":
            assert report.video.frames_analyzed == 6, row["path"]
            # Every shared clip shows a person: a face must be found in most sampled frames.
            assert report.video.frames_with_faces >= 3, (row["path"], report.video.frames_with_faces)
            if row["has_audio"] == "yes":
                assert report.audio.status == "analyzed" and report.audio.segments, row["path"]
                assert report.models["audio"].startswith("AASIST")
            else:
                assert report.audio.status == "not_applicable" and "no audio track" in report.audio.reason
        else:
            assert report.video.frames_analyzed == 1


def test_shared_audio_files_one_per_source_and_format(
    shared_media: Path, aasist_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.DictReader((shared_media / "manifest-audio.csv").open()))
    picked: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:  # one file per (source repository, extension): every decoder path, bounded time
        picked.setdefault((row["source_repo"], Path(row["path"]).suffix), row)
    assert len(picked) >= 3
    for row in picked.values():
        report = _analyze_in_process(
            capsys, str(shared_media / row["path"]), "--audio-model", str(aasist_model_dir)
        )
        assert report.media.kind == "audio" and report.video.status == "not_applicable", row["path"]
        # every labelled clip is seconds of speech: it must be judged, never skipped
        assert report.audio.status == "analyzed", (row["path"], report.audio.reason)
        assert report.audio.segments[0].start_s == 0.0
        _assert_verdicts_follow_the_rule(report)
        if report.provenance is None or report.provenance.verdict == "not_applicable":
            assert report.verdict == report.audio.verdict and report.score == report.audio.score


def test_generated_video_with_audio_track(
    face_video: Path, video_model_dir: Path, melcnn_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # melcnn needs nothing outside the repository: the audio part runs on a fresh machine too.
    report = _analyze_in_process(
        capsys, str(face_video), "--frames", "2", "--video-model", str(video_model_dir),
        "--audio-model", str(melcnn_model_dir),
    )  # fmt: skip
    assert report.audio.status == "analyzed" and report.audio.duration_s == pytest.approx(3.0, abs=0.05)
    assert report.audio.segments and report.audio.model.name
    assert {"video", "audio"} <= set(report.models)
    assert {"load_audio", "score_audio"} <= set(report.timings)


def test_damaged_but_readable_video_gets_a_report_and_a_quiet_stderr(
    cut_faststart_video: Path, video_model_dir: Path
) -> None:
    cut = cut_faststart_video
    result = deepfake(str(cut), "--json", "--frames", "3", "--video-model", str(video_model_dir))
    assert result.returncode == 0, result.stderr
    report = Report.model_validate_json(result.stdout)
    assert any("probably truncated" in r for r in report.reasons)
    assert result.stderr.strip() == ""  # FFmpeg's own complaints do not reach the terminal


def test_several_files_and_a_folder_give_one_json_line_each(
    face_video: Path, face_image: Path, no_face_video: Path, video_model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(no_face_video.read_bytes())
    (folder / ".hidden.mp4").write_bytes(b"not looked at")
    bad = folder / "notes.mp4"
    bad.write_bytes(b"this is not a video")
    out = tmp_path / "all.jsonl"
    result = deepfake(
        str(face_image), str(folder), str(face_video), "--json", "--frames", "2",
        "--video-model", str(video_model_dir), "--out", str(out),
    )  # fmt: skip
    # one unusable file is a clean refusal: the others still analysed, exit 0, the refusal listed
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    summary = lines.pop()["summary"]
    assert (summary["files"], summary["reports"], summary["refused"], summary["failed"]) == (4, 3, 1, 0)
    assert [r["file"] for r in summary["results"]] == [str(face_image), str(folder / "clip.mp4"), str(bad), str(face_video)]
    assert [r["outcome"] for r in summary["results"]] == ["report", "report", "refused", "report"]
    assert [x.get("media", {}).get("filename") or Path(x["file"]).name for x in lines] == [
        face_image.name, "clip.mp4", "notes.mp4", face_video.name,
    ]  # fmt: skip
    assert lines[2]["error"]["code"] in {"unsupported_media", "corrupt_media"}
    assert lines[0]["video"]["status"] == "analyzed" and lines[1]["video"]["status"] == "not_applicable"
    assert [json.loads(x) for x in out.read_text().splitlines()] == lines
    assert "notes.mp4" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_run_where_nothing_could_be_analysed_exits_2_and_lists_every_refusal(tmp_path: Path) -> None:
    first, second = tmp_path / "a.mp4", tmp_path / "b.wav"
    first.write_bytes(b"this is not a video")
    second.write_bytes(b"")
    result = deepfake(str(first), str(second), "--json")
    assert result.returncode == 2, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    summary = lines[-1]["summary"]
    assert (summary["files"], summary["reports"], summary["refused"]) == (2, 0, 2)
    assert [r["file"] for r in summary["results"]] == [str(first), str(second)]
    assert [x["file"] for x in lines[:-1]] == [str(first), str(second)]
    text = deepfake(str(first), str(second))
    assert text.returncode == 2 and text.stdout.strip().splitlines()[-1].startswith("summary: 2 files, 0 reports")
    assert str(first) in text.stdout and "refused" in text.stdout


def test_record_says_exactly_what_produced_the_report(face_image: Path, video_model_dir: Path, tmp_path: Path) -> None:
    import hashlib

    from report_words import development_details

    out, record_file = tmp_path / "report.jsonl", tmp_path / "record.jsonl"
    result = deepfake(
        str(face_image), "--json", "--frames", "2", "--video-model", str(video_model_dir),
        "--out", str(out), "--record", str(record_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(record_file.read_text())
    report_line = out.read_text().splitlines()[0]
    assert record["report_sha256"] == hashlib.sha256(report_line.encode()).hexdigest()
    assert record["file"]["sha256"] == hashlib.sha256(face_image.read_bytes()).hexdigest()
    card = json.loads((video_model_dir / "model.json").read_text())  # read independently of the code
    assert record["models"]["video"]["checkpoint_sha256"] == card["source"]["sha256"]
    assert record["models"]["video"]["scored"] is True
    assert record["options"]["frames"] == 2 and record["options_changed_from_defaults"]["frames"] == 2
    report = json.loads(report_line)
    assert record["verdict"] == report["verdict"] and record["bands"]["video"] == report["video"]["band"]
    assert not development_details(record_file.read_text())
