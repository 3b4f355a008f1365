"""The tensor wire format between the preprocess workers and the inference services.

A message carries a few named arrays with no copy through JSON or base64::

    b"DFT1" | uint32 LE header length | header (UTF-8 JSON) | payload

The header is ``{"tensors": [{"name", "dtype", "shape", "offset", "nbytes"}, ...]}``; each array's bytes
are C-ordered little-endian and start at ``offset`` in the payload. Only plain numeric dtypes are
accepted (never ``object``, never pickle), and every size is checked against the payload before an array
is made, so a malformed or hostile body is a clean :class:`~shared.errors.InvalidArgument`, not a crash.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping

import numpy as np

from shared.errors import InvalidArgument

MAGIC = b"DFT1"
CONTENT_TYPE = "application/x-deepfake-tensors"
_LENGTH = struct.Struct("<I")
#: the dtypes that may cross the wire (little-endian spelling, as numpy's ``dtype.str`` gives them)
ALLOWED_DTYPES = frozenset({"|u1", "<f4", "<f2", "<i4", "<i8", "|b1"})
MAX_HEADER_BYTES = 64 * 1024
MAX_DIMS = 8


def encode(tensors: Mapping[str, np.ndarray]) -> bytes:
    """Serialize named arrays into one message.

    Args:
        tensors: name → array. Arrays are converted to little-endian, C order (a copy only when needed).

    Raises:
        InvalidArgument: a dtype that may not cross the wire.
    """
    entries = []
    chunks: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        arr = np.asarray(array)
        arr = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
        if arr.dtype.str not in ALLOWED_DTYPES:
            raise InvalidArgument(f"tensor {name!r} has dtype {arr.dtype}, which cannot be sent")
        data = arr.tobytes()
        entries.append(
            {"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset, "nbytes": len(data)}
        )
        chunks.append(data)
        offset += len(data)
    header = json.dumps({"tensors": entries}, separators=(",", ":")).encode()
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, *chunks])


def decode(message: bytes | bytearray | memoryview) -> dict[str, np.ndarray]:
    """Parse a message made by :func:`encode`. The arrays are read-only views of ``message``.

    Raises:
        InvalidArgument: anything malformed: wrong magic, truncated body, bad header, disallowed dtype,
            a shape that does not match its byte count, or an array that runs past the payload.
    """
    buf = memoryview(message).cast("B")
    prefix = len(MAGIC) + _LENGTH.size
    if len(buf) < prefix or bytes(buf[: len(MAGIC)]) != MAGIC:
        raise InvalidArgument("not a tensor message (bad magic)")
    (header_len,) = _LENGTH.unpack_from(buf, len(MAGIC))
    if header_len > MAX_HEADER_BYTES or prefix + header_len > len(buf):
        raise InvalidArgument("tensor message header is truncated or too large")
    try:
        header = json.loads(bytes(buf[prefix : prefix + header_len]))
        entries = header["tensors"]
        if not isinstance(entries, list):
            raise TypeError("tensors is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"tensor message header is not valid: {exc}") from None
    payload = buf[prefix + header_len :]
    out: dict[str, np.ndarray] = {}
    for entry in entries:
        try:
            name, dtype_str = str(entry["name"]), str(entry["dtype"])
            shape = tuple(int(d) for d in entry["shape"])
            offset, nbytes = int(entry["offset"]), int(entry["nbytes"])
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument("tensor entry is missing name/dtype/shape/offset/nbytes") from None
        if dtype_str not in ALLOWED_DTYPES:
            raise InvalidArgument(f"tensor {name!r}: dtype {dtype_str!r} is not accepted")
        if len(shape) > MAX_DIMS or any(d < 0 for d in shape):
            raise InvalidArgument(f"tensor {name!r}: shape {list(shape)} is not accepted")
        dtype = np.dtype(dtype_str)
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if expected != nbytes or offset < 0 or offset + nbytes > len(payload):
            raise InvalidArgument(f"tensor {name!r}: shape {list(shape)} does not match its {nbytes} bytes")
        if nbytes == 0:
            out[name] = np.empty(shape, dtype=dtype)
            continue
        flat = np.frombuffer(payload, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)
        out[name] = flat.reshape(shape)
    return out
