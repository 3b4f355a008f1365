"""Dataset readers on layouts the tests build, the reference protocol excerpts, and ../shared/media."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from shared.datasets import (
    FAKE,
    REAL,
    assign_splits,
    check_disjoint,
    detect_format,
    load_dataset,
    split_by_group,
)
from shared.datasets.asvspoof import parse_protocol
from shared.datasets.splits import parse_fractions
from shared.errors import InvalidArgument, MediaNotFound


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")
    return path


def _dfdc_tree(root: Path) -> None:
    for number in (3, 36, 41):
        folder = root / f"dfdc_train_part_{number}"
        meta = {}
        for k in range(2):
            real, fake = f"r{number}_{k}.mp4", f"f{number}_{k}.mp4"
            meta[real] = {"label": "REAL", "split": "train"}
            meta[fake] = {"label": "FAKE", "split": "train", "original": real}
            _touch(folder / real)
            _touch(folder / fake)
        meta["absent.mp4"] = {"label": "FAKE", "original": f"r{number}_0.mp4"}
        (folder / "metadata.json").write_text(json.dumps(meta))


def test_dfdc_reference_split_by_folder_number(tmp_path: Path) -> None:
    _dfdc_tree(tmp_path)
    assert detect_format(tmp_path) == "dfdc"
    ds = load_dataset(tmp_path)
    assert len(ds) == 12 and "3 files listed" in ds.notes
    by_split = Counter((s.meta["folder_number"], s.split) for s in ds.samples)
    assert by_split == {(3, "train"): 4, (36, "val"): 4, (41, "test"): 4}
    fake = next(s for s in ds.samples if s.path.name == "f3_1.mp4")
    real = next(s for s in ds.samples if s.path.name == "r3_1.mp4")
    assert fake.label == FAKE and real.label == REAL and fake.group == real.group
    assert check_disjoint(assign_splits(ds)) == []


def test_dfdc_bad_metadata_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "metadata.json").write_text('{"a.mp4": {"label": "MAYBE"}}')
    with pytest.raises(InvalidArgument, match="FAKE/REAL"):
        load_dataset(tmp_path, "dfdc")


def test_ffpp_groups_join_target_and_source(tmp_path: Path) -> None:
    for vid in ("000", "003", "010", "011", "020"):
        _touch(tmp_path / f"original_sequences/youtube/c23/videos/{vid}.mp4")
    for method in ("Deepfakes", "FaceSwap"):
        for pair in ("000_003", "003_000", "010_011"):
            _touch(tmp_path / f"manipulated_sequences/{method}/c23/videos/{pair}.mp4")
    _touch(tmp_path / "manipulated_sequences/Deepfakes/c40/videos/020_000.mp4")  # other compression: ignored
    assert detect_format(tmp_path) == "ffpp"
    ds = load_dataset(tmp_path)
    assert len(ds) == 11
    groups = {s.path.stem: s.group for s in ds.samples}
    assert groups["000"] == groups["003"] == groups["000_003"] == groups["003_000"]
    assert groups["010"] == groups["011"] != groups["000"]
    assert Counter(s.source for s in ds.samples) == {"original": 5, "Deepfakes": 3, "FaceSwap": 3}
    for seed in range(5):
        assert check_disjoint(assign_splits(ds, seed=seed)) == []


def test_ffpp_official_split_files(tmp_path: Path) -> None:
    for vid in ("000", "003", "010", "011"):
        _touch(tmp_path / f"original_sequences/youtube/c23/videos/{vid}.mp4")
    _touch(tmp_path / "manipulated_sequences/Deepfakes/c23/videos/010_011.mp4")
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits/train.json").write_text('[["000", "003"]]')
    (tmp_path / "splits/val.json").write_text("[]")
    (tmp_path / "splits/test.json").write_text('[["010", "011"]]')
    ds = load_dataset(tmp_path)
    assert {s.path.stem: s.split for s in ds.samples} == {
        "000": "train", "003": "train", "010": "test", "011": "test", "010_011": "test"
    }


def test_labelled_folder_with_identity_subfolders(tmp_path: Path) -> None:
    for name in ("real/alice/1.mp4", "real/alice/2.mp4", "real/bob.wav", "fake/alice/x.mp4", "fake/notes.txt"):
        _touch(tmp_path / name)
    assert detect_format(tmp_path) == "folder"
    ds = load_dataset(tmp_path)
    assert len(ds) == 4  # notes.txt is not media
    groups = Counter(s.group for s in ds.samples)
    assert groups == {"folder:alice": 3, "folder:bob": 1}
    regex = load_dataset(tmp_path, group_regex=r"^(\d)")
    assert {s.group for s in regex.samples} == {"folder:1", "folder:2", "folder:bob", "folder:x"}


def test_labelled_folder_with_own_split(tmp_path: Path) -> None:
    for name in ("train/real/a.png", "train/fake/b.png", "test/real/c.png", "test/fake/d.png"):
        _touch(tmp_path / name)
    split = assign_splits(load_dataset(tmp_path))
    assert {k: len(v) for k, v in split.items()} == {"train": 2, "val": 0, "test": 2}


def test_asvspoof_protocol_excerpts_parse(shared_reference: Path) -> None:
    folder = shared_reference / "asvspoof2019"
    for name in ("train.trn", "dev.trl", "eval.trl"):
        entries = parse_protocol(folder / f"excerpt.ASVspoof2019.LA.cm.{name}.txt")
        assert entries and all(e.key in ("bonafide", "spoof") for e in entries)
        assert all((e.system is None) == (e.key == "bonafide") for e in entries)
    entries = parse_protocol(folder / "excerpt.ASVspoof2019.LA.cm.eval.trl.txt")
    assert entries[1].speaker == "LA_0001" and entries[1].system == "A09" and entries[1].label == FAKE


def test_asvspoof_reader_with_the_real_protocol_lines(tmp_path: Path, shared_reference: Path) -> None:
    la = tmp_path / "LA"
    protocols = la / "ASVspoof2019_LA_cm_protocols"
    protocols.mkdir(parents=True)
    excerpts = shared_reference / "asvspoof2019"
    for _split, (folder, name) in {"train": ("ASVspoof2019_LA_train", "ASVspoof2019.LA.cm.train.trn.txt"),
                                  "dev": ("ASVspoof2019_LA_dev", "ASVspoof2019.LA.cm.dev.trl.txt")}.items():
        text = (excerpts / f"excerpt.{name}").read_text()
        (protocols / name).write_text(text)
        for entry in parse_protocol(protocols / name)[:40]:
            _touch(la / folder / "flac" / f"{entry.file_id}.flac")
    assert detect_format(tmp_path) == "asvspoof"
    ds = load_dataset(tmp_path)
    assert len(ds) == 80 and "without their flac" in ds.notes
    assert {s.split for s in ds.samples} == {"train", "val"}
    assert all(s.source == (s.attack or "bonafide") for s in ds.samples)
    assert check_disjoint(assign_splits(ds)) == []


def test_bad_protocol_line_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.txt"
    bad.write_text("LA_0079 LA_T_1 - - bonafide\nLA_0079 LA_T_2 - A01\n")
    with pytest.raises(InvalidArgument, match="line 2"):
        parse_protocol(bad)


def test_shared_media_manifests_split_by_identity(shared_media: Path) -> None:
    audio = load_dataset(shared_media / "manifest-audio.csv")
    assert len(audio) == 400
    assert set(audio.summary()["sources"]) >= {"LibriSpeech", "Tortoise", "LJSpeech-WaveFake"}
    groups = {s.path.name: s.group for s in audio.samples}
    assert groups["AudioDeepFakeDetecti__samples__LJ002-0176.wav"] == groups[
        "AudioDeepFakeDetecti__samples__LJ002-0176_gen.wav"]
    for seed in range(3):
        split = assign_splits(audio, seed=seed)
        assert check_disjoint(split) == []
        assert all({s.label for s in split[name]} == {0, 1} for name in ("train", "val", "test"))
    visual = load_dataset(shared_media / "manifest-visual.csv")
    assert Counter(s.kind for s in visual.samples) == {"video": 4, "image": 3}


def test_split_by_group_tracks_fractions_and_is_deterministic(tmp_path: Path) -> None:
    from shared.datasets import Sample

    samples = [Sample(tmp_path / f"{g}_{k}", k % 2, f"g{g}", "s") for g in range(100) for k in range(4)]
    a = split_by_group(samples, (0.7, 0.15, 0.15), seed=3)
    b = split_by_group(samples, (0.7, 0.15, 0.15), seed=3)
    assert [s.path for s in a["test"]] == [s.path for s in b["test"]]
    assert check_disjoint(a) == []
    assert abs(len(a["train"]) - 280) <= 4 and abs(len(a["val"]) - 60) <= 4
    assert parse_fractions("80/10/10") == pytest.approx((0.8, 0.1, 0.1))
    with pytest.raises(InvalidArgument):
        parse_fractions("80/20")


def test_unknown_layouts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFound):
        detect_format(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    with pytest.raises(InvalidArgument, match="cannot tell"):
        detect_format(tmp_path / "x")
