"""A small writer for the .safetensors format, with no numpy or torch.

Layout: an 8-byte little-endian header length N, N bytes of JSON header (padded with spaces
to a multiple of 8), then the tensors' bytes back to back. The header maps each tensor name to
`{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data section) and
may hold `"__metadata__"`, a flat map of strings.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DType = Literal["F32", "F16", "BF16"]
DTYPE_SIZES: dict[str, int] = {"F32": 4, "F16": 2, "BF16": 2}
HEADER_ALIGNMENT = 8


@dataclass(frozen=True)
class Tensor:
    """A tensor to save: its dtype, shape and values in row-major order."""

    dtype: DType
    shape: tuple[int, ...]
    values: Sequence[float]

    def __post_init__(self) -> None:
        if len(self.values) != math.prod(self.shape):
            raise ValueError(f"shape {list(self.shape)} needs {math.prod(self.shape)} values, got {len(self.values)}")

    def to_bytes(self) -> bytes:
        """The values encoded little-endian in this tensor's dtype."""
        count = len(self.values)
        if self.dtype == "F32":
            return struct.pack(f"<{count}f", *self.values)
        if self.dtype == "F16":
            return struct.pack(f"<{count}e", *self.values)
        # bfloat16 is the upper half of a float32; round to nearest even before truncating.
        words = struct.unpack(f"<{count}I", struct.pack(f"<{count}f", *self.values))
        rounded = [((word + 0x7FFF + ((word >> 16) & 1)) >> 16) & 0xFFFF for word in words]
        return struct.pack(f"<{count}H", *rounded)


def encode(tensors: Mapping[str, Tensor], metadata: Mapping[str, str] | None = None) -> tuple[bytes, bytes]:
    """The header (length prefix included) and the data section for these tensors."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(key): str(value) for key, value in metadata.items()}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        tensor = tensors[name]
        data = tensor.to_bytes()
        header[name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % HEADER_ALIGNMENT)
    return struct.pack("<Q", len(text)) + text, b"".join(chunks)


def write_safetensors(path: Path, tensors: Mapping[str, Tensor], metadata: Mapping[str, str] | None = None) -> int:
    """Write a .safetensors file atomically (a half-written file never has the final name); returns its size."""
    header, data = encode(tensors, metadata)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as sink:
        sink.write(header)
        sink.write(data)
    partial.replace(path)
    return len(header) + len(data)


def data_hash(tensors: Mapping[str, Tensor]) -> str:
    """The SHA-256 of the data section, which trainers record as `sshs_model_hash`.

    It ignores the metadata, so it can be computed first and then stored in the metadata.
    """
    return hashlib.sha256(encode(tensors)[1]).hexdigest()


MAX_HEADER_BYTES = 100 * 1024 * 1024


def read_metadata(path: Path) -> dict[str, str]:
    """The `__metadata__` of a .safetensors file; ValueError when the file is not one."""
    with path.open("rb") as source:
        prefix = source.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path.name} is too short to be a .safetensors file")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise ValueError(f"{path.name} declares a {length}-byte header; not a .safetensors file")
        header = json.loads(source.read(length))
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return {str(key): str(value) for key, value in (metadata or {}).items()}
