"""atomic_folder: readers see the old folder or the new one, never a half-written one."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.fsutil import atomic_folder


def test_atomic_folder_replaces_the_old_folder_whole(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    with atomic_folder(out) as tmp:
        (tmp / "model.json").write_text("{}")
        assert not (out / "model.json").exists()  # not visible until the block ends
    assert sorted(p.name for p in out.iterdir()) == ["model.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary sibling left


def test_atomic_folder_leaves_the_old_folder_on_error(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.json").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "model.json").write_text("half")
        raise RuntimeError("conversion failed")
    assert (out / "model.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
