"""``shared.runtime.compile_model`` with a shared OpenVINO cache: one compile at a time across processes.

OpenVINO writes a cache blob straight to its final path, so two workers starting together on one cache could
import a half-written blob (a worker of the CI stack died at start-up, then started fine). The test holds the
cache's lock itself and checks that a second process's compile waits for it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tiny_model_folder(folder: Path) -> Path:
    import openvino as ov
    import openvino.opset13 as ops

    from shared.modelcard import ModelCard, VideoPreprocessing

    x = ops.parameter([1, 4], ov.Type.f32, name="x")
    ov.save_model(ov.Model([ops.relu(x)], [x], "tiny"), str(folder / "model.xml"))
    ModelCard(name="tiny", architecture="tiny", kind="video", preprocessing=VideoPreprocessing()).save(folder)
    return folder


def _run_while_the_cache_is_locked(code: str, cache: Path, started: Path, finished: Path, why: str) -> None:
    """Run ``code`` in a process while this one holds ``cache``'s compile lock: it must write ``started``,
    and must not write ``finished`` until the lock is released (``why``: what it would mean if it did)."""
    env = {**os.environ, "DEEPFAKE_OV_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    with open(cache / ".compile.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env)
        try:
            deadline = time.monotonic() + 120  # start-up on a loaded machine
            while time.monotonic() < deadline and proc.poll() is None and not started.exists():
                time.sleep(0.05)
            assert started.exists(), "the process did not get as far as the compile"
            time.sleep(2)  # compiling a relu takes milliseconds; with the lock held it must not happen
            assert proc.poll() is None and not finished.exists(), why
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert proc.wait(60) == 0


def test_a_second_process_compiles_only_after_the_cache_lock_is_released(tmp_path: Path) -> None:
    model = _tiny_model_folder(tmp_path)
    cache = tmp_path / "ov"
    cache.mkdir()
    ready, done = tmp_path / "imported", tmp_path / "compiled"
    code = textwrap.dedent(
        f"""
        import pathlib
        from shared.runtime import compile_model
        pathlib.Path({str(ready)!r}).write_text("ok")  # imports done: only the compile is left
        compile_model(pathlib.Path({str(model)!r}))
        pathlib.Path({str(done)!r}).write_text("ok")
        """
    )
    _run_while_the_cache_is_locked(code, cache, ready, done, "the compile did not wait for the cache lock")
    assert done.read_text() == "ok"


def test_a_compile_in_the_background_returns_at_once_and_the_first_inference_waits_for_it(tmp_path: Path) -> None:
    # deepfake analyze loads its models this way: decoding starts while the face model compiles. With the
    # cache lock held the compile cannot finish, yet compile_model returns (with the card read); the
    # inference waits, and runs once the lock is released.
    model = _tiny_model_folder(tmp_path)
    cache = tmp_path / "ov"
    cache.mkdir()
    returned, done = tmp_path / "returned", tmp_path / "inferred"
    code = textwrap.dedent(
        f"""
        import pathlib
        import numpy as np
        from shared.runtime import compile_model, compiling_in_background
        with compiling_in_background():
            model = compile_model(pathlib.Path({str(model)!r}))
        pathlib.Path({str(returned)!r}).write_text(model.card.name)
        out = model.infer(np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32))
        pathlib.Path({str(done)!r}).write_text(repr(next(iter(out.values())).tolist()))
        """
    )
    _run_while_the_cache_is_locked(code, cache, returned, done, "the inference ran before its model was compiled")
    assert returned.read_text() == "tiny"  # the card was read before the compile
    assert done.read_text() == "[[0.0, 2.0, 0.0, 4.0]]"


def test_a_background_compile_that_fails_raises_at_the_first_inference_and_is_tried_again(tmp_path: Path) -> None:
    import numpy as np
    import pytest

    from shared.runtime import compile_model, compiling_in_background

    model = _tiny_model_folder(tmp_path)
    good = (model / "model.xml").read_text()
    (model / "model.xml").write_text("<net>not a model</net>")
    with compiling_in_background():
        broken = compile_model(model)
    with pytest.raises(RuntimeError):  # OpenVINO's own error for an unreadable IR, not swallowed
        broken.infer(np.zeros((1, 4), np.float32))
    (model / "model.xml").write_text(good)
    again = compile_model(model)  # not the failed one from the process's cache
    assert again is not broken
    out = again.infer(np.array([[-1.0, 1.0, 2.0, -2.0]], np.float32))
    assert next(iter(out.values())).tolist() == [[0.0, 1.0, 2.0, 0.0]]
