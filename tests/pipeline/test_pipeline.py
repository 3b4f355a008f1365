"""The in-process pipeline (probe -> products -> evidence -> report) on generated media with a real compiled model.

The video model is the test-made EfficientNetAutoAttB4 IR of ``tests/fixtures_models.py`` (the published
weights cannot be downloaded here): these tests check the pipeline's plumbing and the report, not accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.faces import box_iou, crop_face_scale_policy, enlarge_box, link_tracks
from shared.pipeline import AnalyzeOptions, analyze, make_products
from shared.report import Report


def faces_of(path: Path, options: AnalyzeOptions):  # type: ignore[no-untyped-def]
    """The face stage alone: the ``face_tracks`` product of ``path``."""
    return make_products(path, ["face_tracks"], options)["face_tracks"]


def indices(faces) -> list[int]:  # type: ignore[no-untyped-def]
    return [r.index for r in faces.frames]


@pytest.fixture(scope="session")
def face_scorer(video_model_dir: Path):  # -> FaceScorer, compiled once per session
    from shared.video_scoring import FaceScorer

    return FaceScorer.from_folder(video_model_dir)


def _opts(**kw) -> AnalyzeOptions:  # type: ignore[no-untyped-def]
    return AnalyzeOptions.from_settings(**kw)


def test_scale_crop_policy_follows_the_reference_readme() -> None:
    frame = np.zeros((400, 600, 3), np.uint8)
    frame[100:200, 250:330] = 255  # the "face" box below, white
    box = np.array([250.0, 100.0, 330.0, 200.0])  # 80 wide, 100 high
    # 20% of the height on left/right/bottom, 40% on top -> 120 x 160 box; square side 160.
    assert enlarge_box(box, 0.2).tolist() == [230.0, 60.0, 350.0, 220.0]
    crop = crop_face_scale_policy(frame, box, margin=0.2, size=224)
    assert crop.shape == (224, 224, 3)
    # The square is 160 px centred on (290, 140): the white box spans x 250..330 of 210..370 -> 1/4..3/4.
    row = crop[112, :, 0] > 127
    assert abs(np.argmax(row) - 56) <= 2 and abs(223 - np.argmax(row[::-1]) - 168) <= 2
    # Near the border the square is clamped to the frame, not padded: still 224x224, no black band.
    corner = crop_face_scale_policy(np.full((400, 600, 3), 9, np.uint8), np.array([0.0, 0.0, 50.0, 60.0]))
    assert corner.shape == (224, 224, 3) and (corner == 9).all()


def test_tracks_link_by_overlap_and_keep_people_apart() -> None:
    a = [np.array([10, 10, 60, 60.0]), np.array([300, 20, 350, 80.0])]
    b = [np.array([305, 22, 355, 82.0]), np.array([14, 12, 64, 62.0])]  # same people, other order
    c = [np.array([40, 10, 90, 60.0])]  # person A moved fast: no overlap, centre within 0.6 box sizes
    ids = link_tracks([a, b, c], [0.0, 0.1, 0.2])
    assert ids == [[0, 1], [1, 0], [0]]
    # A track ends when unseen for max_gap_s seconds AND on the last max_missed (2) analysed frames.
    assert link_tracks([a, [], [], [], a], [0.0, 3.0, 6.0, 9.0, 10.0]) == [[0, 1], [], [], [], [2, 3]]
    assert link_tracks([a, [], a], [0.0, 0.5, 1.0]) == [[0, 1], [], [0, 1]]  # a short gap keeps them
    assert box_iou(a[0], a[0]).item() == pytest.approx(1.0)


def test_one_person_sampled_sparsely_stays_one_track() -> None:
    # A ten-minute video sampled 300 times: frames 2 s apart. One person who sways a little and is missed
    # on one frame in ten must stay one track (the tracker of before made 300 one-face "people" of it).
    rng = np.random.default_rng(0)
    boxes, times = [], []
    for n in range(300):
        dx, dy = rng.normal(0, 12, 2)
        boxes.append([] if n % 10 == 5 else [np.array([400 + dx, 200 + dy, 560 + dx, 380 + dy])])
        times.append(2.0 * n)
    ids = {tid for frame in link_tracks(boxes, times) for tid in frame}
    assert ids == {0}
    # ... but someone at the other side of the picture after a cut is someone else.
    assert link_tracks([[boxes[0][0]], [boxes[0][0] + [700, 0, 700, 0]]], [0.0, 2.0]) == [[0], [1]]


def test_appearance_keeps_two_people_apart_at_one_place() -> None:
    # A cut from one person to another standing where the first stood: the boxes overlap, the faces'
    # colours do not (the appearance descriptor vetoes the link); the same face again links.
    from shared.faces import FaceTracker
    from shared.faces.tracks import face_appearance

    frame_a = np.zeros((480, 640, 3), np.uint8)
    frame_a[100:300, 200:360] = (200, 150, 120)  # skin-like
    frame_b = frame_a.copy()
    frame_b[100:300, 200:360] = (40, 60, 160)  # another colour entirely
    box = np.array([200.0, 100.0, 360.0, 300.0])
    tracker = FaceTracker()
    first = tracker.update([box], 0.0, [face_appearance(frame_a, box)])
    other = tracker.update([box], 2.0, [face_appearance(frame_b, box)])
    again = tracker.update([box], 4.0, [face_appearance(frame_b, box)])
    assert first == [0] and other == [1] and again == [1]
    # A cut to another scene ends every track, even for a face of the same colours at the same place.
    from shared.faces.tracks import frame_appearance

    scene_b = frame_a.copy()
    scene_b[300:, :] = (20, 200, 40)  # another background
    scene_b[:100, :] = (20, 200, 40)
    cut = FaceTracker()
    before = cut.update([box], 0.0, [face_appearance(frame_a, box)], frame_appearance(frame_a))
    same_scene = cut.update([box], 2.0, [face_appearance(frame_a, box)], frame_appearance(frame_a))
    after = cut.update([box], 4.0, [face_appearance(scene_b, box)], frame_appearance(scene_b))
    assert before == same_scene == [0] and after == [1]
    # Without appearances the same boxes link by overlap alone.
    assert link_tracks([[box], [box]], [0.0, 2.0]) == [[0], [0]]


def test_video_with_one_face_and_audio(face_video: Path, face_scorer) -> None:  # type: ignore[no-untyped-def]
    report = analyze(face_video, face_scorer=face_scorer, options=_opts(frames=4))
    Report.model_validate(report.model_dump())  # round-trips through the schema
    assert report.media.kind == "video" and report.media.frame_count == 75
    v = report.video
    assert v.status == "analyzed" and v.sampling.mode == "frames" and v.sampling.frames == 4
    assert [f.index for f in v.frames] == [0, 24, 49, 74]
    assert [f.time_s for f in v.frames] == pytest.approx([0.0, 0.96, 1.96, 2.96])
    assert v.frames_analyzed == 4 and v.frames_with_faces == 4
    assert len(v.tracks) == 1 and v.tracks[0].faces == 4 and v.tracks[0].counted
    # The track's score is sigmoid(mean logit) of its faces (the reference's video score).
    logits = [face.logit for f in v.frames for face in f.faces]
    assert v.tracks[0].mean_logit == pytest.approx(np.mean(logits), abs=1e-3)
    assert v.tracks[0].score == pytest.approx(1 / (1 + np.exp(-np.mean(logits))), abs=1e-3)
    assert v.score == v.tracks[0].score and report.score == v.score
    assert report.verdict == v.verdict != "not_applicable"
    assert (
        report.video.model.name == face_scorer.card.name
        and report.models["video"] == face_scorer.card.version
    )
    # No audio model was given: the audio part says so instead of inventing a score.
    assert report.audio.status == "not_available" and report.audio.score is None
    assert {"probe", "decode", "detect_faces", "crop_faces", "score_video", "report", "total"} <= set(
        report.timings
    )


def test_two_faces_make_two_tracks_scored_separately(two_face_video: Path, face_scorer) -> None:  # type: ignore[no-untyped-def]
    # Tracking on two generated faces that cross BlazeFace's 360-pixel tiles: MTCNN sees the whole frame
    # and finds both in every frame (BlazeFace misses one face in one frame: see docs/faces.md).
    report = analyze(two_face_video, face_scorer=face_scorer, options=_opts(frames=5, detector="mtcnn"))
    tracks = report.video.tracks
    assert len(tracks) == 2 and all(t.faces == 5 and t.counted for t in tracks)
    assert report.video.score == max(t.score for t in tracks)
    for frame in report.video.frames:
        assert sorted(f.track_id for f in frame.faces) == [0, 1]
    # Faces of one track stay on one side of the picture (they were linked, not shuffled).
    for tid in (0, 1):
        xs = [f.box[0] for fr in report.video.frames for f in fr.faces if f.track_id == tid]
        assert max(xs) - min(xs) < 100
    top = analyze(two_face_video, face_scorer=face_scorer, options=_opts(frames=5, top_face=True, detector="mtcnn"))
    assert top.video.sampling.top_face and len(top.video.tracks) == 1
    assert all(len(f.faces) == 1 for f in top.video.frames)


def test_no_face_video_is_not_applicable_with_a_reason(no_face_video: Path, face_scorer) -> None:  # type: ignore[no-untyped-def]
    report = analyze(no_face_video, face_scorer=face_scorer, options=_opts(frames=3))
    assert report.verdict == "not_applicable" and report.score is None
    assert report.video.status == "not_applicable" and report.video.frames_analyzed == 3
    assert any("no face found in any of the 3 sampled frames" in r for r in report.reasons)


def test_image_faces_are_scored(face_image: Path, face_scorer) -> None:  # type: ignore[no-untyped-def]
    report = analyze(face_image, face_scorer=face_scorer, options=_opts())
    assert report.media.kind == "image" and report.video.sampling.mode == "image"
    assert report.video.frames_with_faces == 1 and len(report.video.tracks) == 1
    assert report.audio.status == "not_applicable"


def test_rotated_444_and_vfr_videos_find_their_faces(
    portrait_video: Path, yuv444_video: Path, vfr_video: Path, face_scorer
) -> None:  # type: ignore[no-untyped-def]
    # The portrait's face is only detectable upright: finding it proves the rotation tag was applied.
    for path in (portrait_video, yuv444_video, vfr_video):
        prepared = faces_of(path, _opts(frames=3))
        assert len(indices(prepared)) == 3 and len({f.frame_index for f in prepared.faces}) == 3, path.name
    vfr = faces_of(vfr_video, _opts(frames=3))
    # Frame 19 is at 10 x 80 ms + 9 x 20 ms = 0.98 s (a constant 20 fps would say 0.95 s).
    assert [r.time_s for r in vfr.frames] == pytest.approx([0.0, 0.98, 1.98])


def test_analyze_reports_progress_and_writes_artifacts(face_video: Path, face_scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stages: list[tuple[str, float]] = []
    options = _opts(every=25)
    report = analyze(
        face_video,
        face_scorer=face_scorer,
        options=options,
        artifacts_dir=tmp_path / "art",
        heatmaps_dir=tmp_path / "heat",
        progress=lambda s, f: stages.append((s, f)),
    )
    assert [f.index for f in report.video.frames] == [0, 25, 50]
    assert ("scoring_video", 1.0) in stages and stages[-1] == ("merging", 1.0)
    assert report.video.tracks and report.video.score is not None
    names = {a.name: a for a in report.artifacts}
    assert names["track0_face.png"].kind == "face_thumbnail" and names["track0_face.png"].track_id == 0
    assert names["track0_heatmap.png"].kind == "heatmap_overlay"
    for name in names:
        assert (tmp_path / "art" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "heat").iterdir()) == [
        "frame000000_track0.png",
        "frame000025_track0.png",
        "frame000050_track0.png",
    ]


def test_detection_interval_interpolates_faces_between_detections(face_video: Path) -> None:
    # Every 2nd frame at 25 fps = 0.08 s apart; detecting every 0.25 s runs MTCNN on every 4th of them.
    every = faces_of(face_video, _opts(every=2, max_frames=13, detect_interval_s=0.0))
    sparse = faces_of(face_video, _opts(every=2, max_frames=13, detect_interval_s=0.25))
    assert indices(sparse) == indices(every)
    detected = [f for f in sparse.faces if not f.interpolated]
    placed = [f for f in sparse.faces if f.interpolated]
    assert len(detected) < len(every.faces) and placed and not any(f.interpolated for f in every.faces)
    assert len(sparse.faces) == len(every.faces) and {f.track_id for f in placed} == {0}
    assert indices(sparse)[-1] in {f.frame_index for f in detected}  # the last frame is always detected
    truth = {f.frame_index: f.box for f in every.faces if f.track_id == 0}
    for face in placed:  # the moving face is followed: interpolated boxes overlap the real detections
        assert box_iou(face.box, truth[face.frame_index]).item() > 0.6
    assert sparse.crops.shape == every.crops.shape


def test_artifacts_for_the_page_include_the_mel_spectrogram(
    face_video: Path, face_scorer, melcnn_model_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from shared.audio_scoring import AudioScorer

    audio_scorer = AudioScorer.from_folder(melcnn_model_dir)
    stages: list[str] = []
    report = analyze(
        face_video,
        face_scorer=face_scorer,
        audio_scorer=audio_scorer,
        options=_opts(frames=2),
        artifacts_dir=tmp_path,
        progress=lambda s, f: stages.append(s),
    )
    assert report.audio.status == "analyzed" and report.audio.model.name == audio_scorer.card.name
    # the detectors run concurrently, so their stages interleave; each detector's own order holds
    order = {s: stages.index(s) for s in set(stages)}
    assert set(order) == {"decoding", "detecting_faces", "checking_provenance", "scoring_video", "scoring_audio", "merging"}
    assert order["decoding"] < order["detecting_faces"] < order["scoring_video"] < order["merging"]
    assert stages[-1] == "merging" and stages.count("merging") == 2
    kinds = {a.kind: a for a in report.artifacts}
    assert set(kinds) == {"face_thumbnail", "heatmap_overlay", "mel_spectrogram"}
    import cv2

    mel = cv2.imread(str(tmp_path / kinds["mel_spectrogram"].name))
    assert mel is not None and mel.shape[0] > 100 and mel.shape[1] > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(a.name for a in report.artifacts)


def test_frames_n_searches_every_sampled_frame(face_video: Path) -> None:
    # 20 frames of a 3 s clip are 0.15 s apart, closer than the detection interval: still all detected.
    prepared = faces_of(face_video, _opts(frames=20, top_face=True, detect_interval_s=0.25))
    assert len(indices(prepared)) == 20 and not any(f.interpolated for f in prepared.faces)


def test_a_cut_between_shots_in_the_same_colours_ends_the_tracks() -> None:
    # Two shots with the same colours (the histograms are equal: the halves are swapped) and a face box at
    # the same place with the same colours: only the picture's layout tells the cut.
    from shared.faces import FaceTracker
    from shared.faces.tracks import face_appearance, frame_appearance, frame_thumbnail

    shot_a = np.zeros((360, 640, 3), np.uint8)
    shot_a[:, :320] = (200, 180, 160)
    shot_a[:, 320:] = (30, 40, 90)
    shot_b = shot_a[:, ::-1].copy()
    box = np.array([280.0, 100.0, 360.0, 200.0])  # the middle: the same pixels in both shots
    assert np.array_equal(frame_appearance(shot_a), frame_appearance(shot_b))

    def run(times: list[float], with_layout: bool) -> list[list[int]]:
        tracker = FaceTracker()
        out = []
        for t, shot in zip(times, [shot_a, shot_a, shot_b], strict=True):
            thumb = frame_thumbnail(shot) if with_layout else None
            out.append(tracker.update([box], t, [face_appearance(shot, box)], frame_appearance(shot), thumb))
        return out

    assert run([0.0, 0.3, 0.6], with_layout=False) == [[0], [0], [0]]  # the colour rules alone link them
    assert run([0.0, 0.3, 0.6], with_layout=True) == [[0], [0], [1]]  # the layout: a cut, a new person
    # Frames far apart may differ by camera moves as much as by a cut: no cut is read from layout there
    assert run([0.0, 2.0, 4.0], with_layout=True) == [[0], [0], [0]]
