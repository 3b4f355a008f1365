"""A kind of evidence stays in its package: few files outside it name its module path.

docs/DESIGN.md ("Files a new kind of evidence touches (at most N)") lists the files a kind touches: its
package, its doc and a few declared places. Outside ``tests/``, ``docs/`` and ``schemas/``, the files that
name its module path (``shared.evidence.<name>`` or ``shared/evidence/<name>``) beside its package are
therefore at most N less two (the package itself and its doc). Before the kinds became packages, the
lips kind's path was named in 7 such files and the generated-picture kind's in 9 (their model code,
evaluation and commands lived in ``shared/models``, ``shared/evaluation`` and ``shared/cli``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from shared.evidence import builtin_kinds

ROOT = Path(__file__).resolve().parents[1]
#: tests, docs and the generated schemas may name any module
EXCLUDED = ("tests/", "docs/", "schemas/")


def allowed_outside() -> int:
    """The files DESIGN.md allows a kind, less its package and its doc (which lives in ``docs/``)."""
    design = (ROOT / "docs" / "DESIGN.md").read_text()
    found = re.search(r"### Files a new kind of evidence touches \(at most (\d+)\)", design)
    assert found, "docs/DESIGN.md lost its list of the files a kind of evidence touches"
    return int(found.group(1)) - 2


def tracked_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the files to count are the tracked ones")
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return listed.stdout.splitlines()


def files_naming(name: str, root: Path, files: list[str]) -> list[str]:
    """The files of ``files`` (relative to ``root``) outside ``EXCLUDED`` and outside the kind's own module or
    package that name ``shared.evidence.<name>`` / ``shared/evidence/<name>``."""
    own = (f"shared/evidence/{name}/", f"shared/evidence/{name}.py")
    pattern = re.compile(rf"shared[./]evidence[./]{re.escape(name)}\b")
    naming = []
    for rel in files:
        if rel.startswith(EXCLUDED) or rel.startswith(own) or not (root / rel).is_file():
            continue
        try:
            text = (root / rel).read_text()
        except UnicodeDecodeError:  # a binary file names no module
            continue
        if pattern.search(text):
            naming.append(rel)
    return sorted(naming)


def test_the_count_sees_a_file_that_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "shared" / "evidence" / "lips").mkdir(parents=True)
    (tmp_path / "shared" / "evidence" / "lips" / "x.py").write_text("import shared.evidence.lips.syncnet\n")
    (tmp_path / "bench.py").write_text("from shared.evidence.lips import syncnet\n")
    (tmp_path / "other.py").write_text("from shared.evidence.lipsync import x  # another module\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "lips.md").write_text("shared/evidence/lips/\n")
    files = ["shared/evidence/lips/x.py", "bench.py", "other.py", "docs/lips.md"]
    assert files_naming("lips", tmp_path, files) == ["bench.py"]


@pytest.mark.parametrize("kind", [kind.name for kind in builtin_kinds()])
def test_few_files_outside_its_package_name_it(kind: str) -> None:
    naming = files_naming(kind, ROOT, tracked_files())
    assert len(naming) <= allowed_outside(), (
        f"the kind {kind!r} is named outside its package in {len(naming)} files (at most "
        f"{allowed_outside()}, docs/DESIGN.md): {naming}"
    )
