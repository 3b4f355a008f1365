"""Probing, decoding and sampling on generated media, the real labelled media, and a corpus of bad inputs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from shared import errors
from shared.media.probe import open_media
from shared.media.video import decode_frames, sample_frame_indices

BAD_INPUT_CODES = {
    "missing": "media_not_found",
    "empty": "empty_media",
    "directory": "unsupported_media",
    "not_media": "corrupt_media",  # named .mp4: meant to be media, cannot be read
    "random_bytes": "corrupt_media",
    "truncated": "corrupt_media",
    "no_usable_stream": "no_usable_stream",
}


def test_sampling_frames_n_is_the_reference_recipe() -> None:
    # 32 evenly spaced frames over the whole video, first and last included (ICPR2020 README).
    assert sample_frame_indices(300, frames=32) == np.unique(np.linspace(0, 299, 32).astype(int)).tolist()
    assert sample_frame_indices(300, frames=32)[:3] == [0, 9, 19]
    assert sample_frame_indices(300, frames=32)[-1] == 299
    assert sample_frame_indices(10, frames=32) == list(range(10))  # short video: every frame, once


def test_sampling_every_k_is_capped_and_spread_evenly() -> None:
    assert sample_frame_indices(10, every=2) == [0, 2, 4, 6, 8]
    capped = sample_frame_indices(1000, every=2, max_frames=5)
    assert capped == [0, 248, 498, 748, 998]  # picks 0, 124, 249, 374, 499 of the 500 even frames
    assert sample_frame_indices(0, every=2) == []
    with pytest.raises(errors.InvalidArgument):
        sample_frame_indices(10, every=2, frames=3)


def test_probe_reads_facts_from_the_container(face_video: Path) -> None:
    facts = open_media(face_video).facts
    assert facts.kind == "video" and facts.frame_count == 75
    assert (facts.width, facts.height, facts.rotation) == (640, 360, 0)
    assert facts.fps == pytest.approx(25.0) and facts.duration_s == pytest.approx(3.0, abs=0.05)
    assert facts.video_codec.startswith("h264") and facts.audio_codec.startswith("aac")
    assert facts.sha256 == hashlib.sha256(face_video.read_bytes()).hexdigest()
    assert facts.variable_frame_rate is False


def test_rotation_metadata_is_applied_like_ffmpeg(portrait_video: Path, tmp_path: Path) -> None:
    source = open_media(portrait_video)
    assert source.facts.rotation == 90 and (source.facts.width, source.facts.height) == (360, 640)
    ours = decode_frames(portrait_video, [0])[0].rgb
    assert ours.shape == (640, 360, 3)
    # ffmpeg's own autorotation is the reference for what "upright" means.
    png = tmp_path / "ffmpeg.png"
    subprocess.run(
        [
            shutil.which("ffmpeg") or "ffmpeg",
            "-v",
            "error",
            "-i",
            str(portrait_video),
            "-frames:v",
            "1",
            str(png),
        ],
        check=True,
    )
    from shared.media.image import load_image

    theirs = load_image(png)
    assert theirs.shape == ours.shape
    assert np.abs(theirs.astype(int) - ours.astype(int)).mean() < 4  # only YUV->RGB rounding differs


def test_444_odd_sized_video_decodes_to_rgb(yuv444_video: Path) -> None:
    source = open_media(yuv444_video)
    assert source.facts.pixel_format == "yuv444p" and (source.facts.width, source.facts.height) == (642, 361)
    frames = decode_frames(yuv444_video, [0, 49])
    assert [f.index for f in frames] == [0, 49]
    assert frames[0].rgb.shape == (361, 642, 3) and frames[0].rgb.dtype == np.uint8


def test_variable_frame_rate_keeps_exact_times(vfr_video: Path) -> None:
    source = open_media(vfr_video)
    assert source.facts.variable_frame_rate is True and source.facts.frame_count == 40
    frames = decode_frames(vfr_video, [0, 1, 2, 3, 39])
    # Spacing alternates 80 ms / 20 ms: a constant-rate assumption would say 0.05 s steps.
    assert [round(f.time_s, 3) for f in frames[:4]] == [0.0, 0.08, 0.1, 0.18]
    assert frames[-1].index == 39 and frames[-1].time_s == pytest.approx(
        1.98, abs=0.001
    )  # 20 x 80 ms + 19 x 20 ms


def test_sparse_decoding_returns_exactly_the_requested_frames(face_video: Path) -> None:
    indices = sample_frame_indices(75, frames=7)
    frames = decode_frames(face_video, indices)
    assert [f.index for f in frames] == indices
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in indices])
    # Decoding sparsely gives the same pixels as decoding everything.
    all_frames = {f.index: f.rgb for f in decode_frames(face_video, list(range(75)))}
    for f in frames:
        assert np.array_equal(f.rgb, all_frames[f.index])


def test_image_and_audio_files_are_recognised(
    face_image: Path, speech_audio: Path, audio_only_mp4: Path
) -> None:
    image = open_media(face_image).facts
    assert image.kind == "image" and (image.width, image.height) == (480, 360) and image.duration_s is None
    audio = open_media(speech_audio).facts
    assert (
        audio.kind == "audio" and audio.audio_sample_rate == 16000 and audio.duration_s == pytest.approx(4.0)
    )
    # An .mp4 with only a sound track is an audio file, not a broken video.
    assert open_media(audio_only_mp4).facts.kind == "audio"


@pytest.mark.parametrize("name", sorted(BAD_INPUT_CODES))
def test_bad_inputs_raise_the_shared_error_types(bad_inputs: dict[str, Path], name: str) -> None:
    with pytest.raises(errors.BadInput) as info:
        open_media(bad_inputs[name])
    assert info.value.code == BAD_INPUT_CODES[name]
    assert bad_inputs[name].name in info.value.message and "\n" not in info.value.message


def test_every_shared_video_and_image_probes_and_decodes(shared_media: Path) -> None:
    import csv

    rows = list(csv.DictReader((shared_media / "manifest-visual.csv").open()))
    assert rows
    for row in rows:
        path = shared_media / row["path"]
        facts = open_media(path).facts
        assert facts.kind == ("image" if row["path"].startswith("image/") else "video"), row["path"]
        assert (facts.width, facts.height) == (int(row["width"]), int(row["height"])), row["path"]
        if facts.kind == "video":
            assert facts.frame_count == int(row["nb_frames"]), row["path"]
            assert facts.fps == pytest.approx(float(row["fps"]), abs=0.01)
            assert (facts.audio_codec is not None) == (row["has_audio"] == "yes")
            frames = decode_frames(path, [0, facts.frame_count - 1])
            assert [f.index for f in frames] == [0, facts.frame_count - 1]
            assert frames[0].rgb.shape == (facts.height, facts.width, 3)


def test_seeking_between_keyframes_gives_the_same_frames(media_dir: Path) -> None:
    from fixtures_media import _background, write_video

    path = write_video(media_dir / "gop5.mp4", lambda i: _background(120, 160, i / 5), 60, gop=5)
    source = open_media(path)
    assert len(source.video.keyframe_pts) == 12  # a keyframe every 5 frames: the decoder can jump
    everything = {f.index: f.rgb for f in decode_frames(path, list(range(60)))}
    for indices in ([3, 17, 41, 59], [0, 1, 30, 31, 58], [56]):
        frames = decode_frames(path, indices)
        assert [f.index for f in frames] == indices
        for f in frames:
            assert np.array_equal(f.rgb, everything[f.index]), (indices, f.index)


def test_a_cut_faststart_file_is_analysed_with_a_note(cut_faststart_video: Path) -> None:
    # moov first (faststart), then the file is cut: the index promises 75 frames, fewer are there.
    cut = cut_faststart_video
    source = open_media(cut)
    assert 0 < source.facts.frame_count < 75
    assert any("says it has 75 video frames" in note for note in source.notes)
    frames = decode_frames(cut, [0, source.facts.frame_count - 1])
    assert frames[0].index == 0
