"""The hostile corpus (``corpus.py``), generated once per session for the CLI and the stack tests."""

from __future__ import annotations

import shutil

import pytest
from hostile.corpus import Case, build_corpus


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("the hostile corpus needs the ffmpeg command line (apt-get install ffmpeg)")
    return {case.name: case for case in build_corpus(tmp_path_factory.mktemp("hostile"))}
