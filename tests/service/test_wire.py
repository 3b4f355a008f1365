"""The tensor wire format between workers and inference services: round trips and hostile bodies."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from shared import wire
from shared.errors import InvalidArgument


def test_round_trip_keeps_names_dtypes_shapes_and_values() -> None:
    rng = np.random.default_rng(0)
    tensors = {
        "faces": rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8),
        "logits": rng.standard_normal(3).astype(np.float32),
        "attention": rng.random((3, 7, 7), dtype=np.float32),
        "empty": np.zeros((0, 64600), np.float32),
    }
    out = wire.decode(wire.encode(tensors))
    assert list(out) == list(tensors)
    for name, array in tensors.items():
        assert out[name].dtype == array.dtype and out[name].shape == array.shape
        np.testing.assert_array_equal(out[name], array)


def test_big_endian_and_non_contiguous_inputs_arrive_as_little_endian_values() -> None:
    big = np.arange(6, dtype=">f4").reshape(2, 3)
    strided = np.arange(20, dtype=np.float32).reshape(4, 5)[:, ::2]
    out = wire.decode(wire.encode({"big": big, "strided": strided}))
    np.testing.assert_array_equal(out["big"], big.astype("<f4"))
    np.testing.assert_array_equal(out["strided"], strided)
    assert out["big"].dtype.str == "<f4"


def test_overhead_is_a_small_header_not_a_text_encoding() -> None:
    faces = np.zeros((8, 224, 224, 3), np.uint8)
    assert len(wire.encode({"faces": faces})) - faces.nbytes < 256


def _message(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return wire.MAGIC + struct.pack("<I", len(raw)) + raw + payload


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"GIF89a not a tensor",
        wire.MAGIC + struct.pack("<I", 10_000) + b"{}",  # header runs past the body
        _message({"nope": []}),
        _message({"tensors": [{"name": "x", "dtype": "|O", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8),
        _message({"tensors": [{"name": "x", "dtype": "<f4", "shape": [4], "offset": 0, "nbytes": 16}]}, b"\0" * 8),
        _message({"tensors": [{"name": "x", "dtype": "<f4", "shape": [3], "offset": 0, "nbytes": 16}]}, b"\0" * 16),
        _message({"tensors": [{"name": "x", "dtype": "<f4", "shape": [-1], "offset": 0, "nbytes": 4}]}, b"\0" * 4),
        _message({"tensors": [{"name": "x", "dtype": "<f4"}]}),
    ],
    ids=["empty", "wrong-magic", "truncated-header", "no-tensors", "object-dtype", "short-payload",
         "shape-mismatch", "negative-dim", "missing-fields"],
)
def test_malformed_messages_are_invalid_argument(body: bytes) -> None:
    with pytest.raises(InvalidArgument):
        wire.decode(body)


def test_object_arrays_cannot_be_sent() -> None:
    with pytest.raises(InvalidArgument):
        wire.encode({"x": np.array([object()])})
