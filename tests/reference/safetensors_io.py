"""Minimal safetensors writer and reader for the libswin test fixtures.

Format: u64 little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}
padded with spaces to a multiple of 8, then the tensors packed contiguously, little-endian,
in the order given.

Used by gen_fixtures.py; regenerate the fixtures with
    /usr/bin/python3 tests/reference/gen_fixtures.py
Self-check: /usr/bin/python3 tests/reference/safetensors_io.py
"""
import json
import struct

import numpy as np
import torch

DTYPES = ("F32", "F16", "BF16", "I64")


def f32_to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even (no NaN inputs)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = u + 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def round_to_dtype(t, dtype):
    """Value of floating tensor t after storing it as dtype (F32, F16 or BF16), as float32."""
    a = t.detach().cpu().to(torch.float32).numpy()
    if dtype == "F32":
        out = a
    elif dtype == "F16":
        out = a.astype(np.float16).astype(np.float32)
    elif dtype == "BF16":
        out = bf16_bits_to_f32(f32_to_bf16_bits(a))
    else:
        raise ValueError(dtype)
    return torch.from_numpy(np.array(out, dtype=np.float32))


def _tensor_bytes(t, dtype):
    t = t.detach().cpu()
    if dtype == "I64":
        if t.is_floating_point():
            raise ValueError("I64 requested for a floating tensor")
        return t.to(torch.int64).numpy().astype("<i8").tobytes()
    a = t.to(torch.float32).numpy()
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(a).astype("<u2").tobytes()
    raise ValueError(dtype)


def write(path, tensors, metadata=None, dtype="F32"):
    """Write tensors (list of (name, tensor) or dict, order kept) to path.

    dtype applies to floating tensors; integer tensors are written as I64.
    metadata None writes no "__metadata__" entry at all.
    """
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in items:
        dt = dtype if t.is_floating_point() else "I64"
        b = _tensor_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read(path):
    """Return (dict name -> torch tensor, metadata dict or None, dict name -> dtype string).

    F16/BF16 come back as float32 holding the exact stored values; I64 as int64.
    """
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    base = 8 + n
    out, dtypes = {}, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        elif dt == "I64":
            a = np.frombuffer(raw, dtype="<i8").astype(np.int64)
        else:
            raise ValueError(f"{path}: unsupported dtype {dt}")
        out[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
        dtypes[name] = dt
    return out, meta, dtypes


def _self_check():
    import os
    import tempfile

    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 5, generator=g)
    ints = torch.arange(-4, 8).reshape(3, 4)
    # bf16 rounding must agree with torch's round-to-nearest-even conversion.
    x = torch.randn(100000, generator=g) * 10
    ours = f32_to_bf16_bits(x.numpy()).view(np.int16)
    theirs = x.to(torch.bfloat16).view(torch.int16).numpy()
    assert np.array_equal(ours, theirs), "bf16 rounding differs from torch"
    with tempfile.TemporaryDirectory() as d:
        for dt in DTYPES[:3]:
            p = os.path.join(d, "t.safetensors")
            write(p, [("a", a), ("i", ints)], {"k": "v"}, dtype=dt)
            with open(p, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
            assert (8 + n) % 8 == 0
            got, meta, dts = read(p)
            assert meta == {"k": "v"} and dts == {"a": dt, "i": "I64"}
            assert torch.equal(got["a"], round_to_dtype(a, dt))
            assert torch.equal(got["i"], ints)
        write(p, {"a": a})
        got, meta, _ = read(p)
        assert meta is None and torch.equal(got["a"], a)
    print("safetensors_io self-check OK")


if __name__ == "__main__":
    _self_check()
