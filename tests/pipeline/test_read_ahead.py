"""Frames decoded in a thread ahead of the face search (``shared.media.video.read_ahead``).

The oracle is the frames themselves: what comes out of the read-ahead is what the plain iterator gives,
in order; an error part-way reaches the caller after the frames before it; no more than the byte budget
waits untaken; and leaving early stops the decoding thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from shared.media.video import DecodedFrame, read_ahead


def _frames(n: int, *, fail_at: int | None = None, made: list[int] | None = None) -> Iterator[DecodedFrame]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"damaged at {i}")
        if made is not None:
            made.append(i)
        yield DecodedFrame(i, i / 25, np.full((4, 5, 3), i % 256, np.uint8))


def test_the_frames_come_out_unchanged_and_in_order() -> None:
    out = list(read_ahead(_frames(50), max_bytes=3 * 60))
    expected = list(_frames(50))
    assert [f.index for f in out] == list(range(50))
    for a, b in zip(out, expected, strict=True):
        assert a.time_s == b.time_s and np.array_equal(a.rgb, b.rgb)


def test_a_decoding_error_reaches_the_caller_after_the_frames_before_it() -> None:
    got: list[int] = []
    with pytest.raises(RuntimeError, match="damaged at 7"):
        for frame in read_ahead(_frames(20, fail_at=7), max_bytes=1000):
            got.append(frame.index)
    assert got == list(range(7))


def test_no_more_than_the_budget_waits_untaken() -> None:
    made: list[int] = []
    frame_bytes = 4 * 5 * 3
    frames = read_ahead(_frames(100, made=made), max_bytes=4 * frame_bytes)
    first = next(frames)
    time.sleep(0.3)  # the decoding thread runs ahead as far as it may
    # taken: 1; waiting: at most 4 frames' bytes; plus the one the thread made and is waiting to hand over
    assert first.index == 0 and 2 <= len(made) <= 1 + 4 + 1
    assert [f.index for f in frames] == list(range(1, 100))


def test_leaving_early_stops_the_decoding_thread() -> None:
    closed = threading.Event()

    def endless() -> Iterator[DecodedFrame]:
        try:
            i = 0
            while True:
                yield DecodedFrame(i, 0.0, np.zeros((2, 2, 3), np.uint8))
                i += 1
        finally:
            closed.set()  # the source's own cleanup ran (the container is closed)

    before = {t.name for t in threading.enumerate()}
    frames = read_ahead(endless(), max_bytes=48)
    assert next(frames).index == 0
    frames.close()
    assert closed.wait(5)
    assert "decode" not in {t.name for t in threading.enumerate()} - before
