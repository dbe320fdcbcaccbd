"""TFRecord files read without TensorFlow, and the protobuf wire format NAS-Bench-101 uses.

A TFRecord file is a sequence of records, each: uint64 length (little-endian), uint32 masked
CRC-32C of those 8 bytes, the data, uint32 masked CRC-32C of the data, where
masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32). Every CRC is checked.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import google_crc32c

from spdbench.errors import DataFileError

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C (Castagnoli) of `data`."""
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def iter_records(
    path: str | Path, *, on_progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The records of the TFRecord file `path`; DataFileError (one line, naming the byte
    offset) on a truncated file or a failed CRC. `on_progress(position)` is called every
    65,536 records with the bytes read so far."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos, count = 0, 0
        while pos < size:
            if pos + 12 > size:
                raise _damaged(path, pos, "ends inside a record header (truncated)")
            header = data[pos : pos + 8]
            if masked_crc32c(header) != _CRC.unpack_from(data, pos + 8)[0]:
                raise _damaged(path, pos, "has a record header that fails its CRC-32C")
            start = pos + 12
            end = start + _LENGTH.unpack(header)[0]
            if end + 4 > size:
                raise _damaged(path, pos, "ends inside a record (truncated)")
            record = data[start:end]
            if masked_crc32c(record) != _CRC.unpack_from(data, end)[0]:
                raise _damaged(path, pos, "has a record that fails its CRC-32C")
            yield record
            pos = end + 4
            count += 1
            if on_progress is not None and count % 65536 == 0:
                on_progress(pos)
        if on_progress is not None:
            on_progress(pos)


def _damaged(path: Path, pos: int, what: str) -> DataFileError:
    return DataFileError(
        f"{path} {what} at byte {pos:,}: it is damaged or not a TFRecord file; download it again"
    )


# ---- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ---------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def proto_fields(buf: bytes) -> Iterator[tuple[int, int | float | bytes]]:
    """(field number, value) of each field of a serialized message: varints as int, 64-bit
    fields as double, length-delimited fields as bytes (32-bit fields are skipped)."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, value
        elif wire == 1:
            yield field, _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield field, buf[pos : pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    if pos != end:
        raise ValueError("protobuf message ends inside a field")
