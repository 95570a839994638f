"""Writes the corpus of malformed safetensors files in tests/fixtures/bad/ and its README.md.

Every file is derived from the good fixture tests/fixtures/swin_t7_224.safetensors and breaks
exactly one thing, so that the check under test is the one that fails; tests/test_badfiles.c
expects each file's status. Two bases keep the corpus small:

  small  three [4] F32 tensors of the fixture (patch_embed.proj.bias, patch_embed.norm.*) and the
         fixture's metadata. It parses; loading it fails only at binding (MISSING_TENSOR for
         patch_embed.proj.weight, the control case). Used for every header-level case.
  mini   stages 0 and 1 of the fixture, one block each (timm naming), final norm and head sliced
         to the 8 channels of stage 1, metadata depths "1,1", num_heads "2,2". It loads
         (control case). Used for the cases that fail while binding the architecture.

Plain Python 3 and NumPy, no torch; deterministic (byte-identical output on every run):
    /usr/bin/python3 tests/reference/gen_badfiles.py
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
OUT = os.path.join(FIXTURES, "bad")
SOURCE = "swin_t7_224.safetensors"

class Raw:
    """JSON text inserted verbatim into a header (for values json.dumps cannot produce)."""

    def __init__(self, text):
        self.text = text


def dumps(v):
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    return json.dumps(v)


def header_text(pairs):
    """pairs: list of (key, value); keys may repeat. Values may hold Raw pieces."""
    return "{" + ",".join(json.dumps(k) + ":" + dumps(v) for k, v in pairs) + "}"


def read(path):
    """Returns (metadata dict, list of [name, dtype, shape, bytes]) in file order."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = []
    for name, e in header.items():
        b, end = e["data_offsets"]
        tensors.append([name, e["dtype"], list(e["shape"]), data[base + b:base + end]])
    return meta, tensors


def pack(meta, tensors):
    """Header pairs and data section for tensors packed in order (offsets recomputed)."""
    pairs = [] if meta is None else [("__metadata__", dict(meta))]
    blobs, off = [], 0
    for name, dt, shape, raw in tensors:
        pairs.append((name, {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}))
        blobs.append(raw)
        off += len(raw)
    return pairs, b"".join(blobs)


def assemble(htext, data, hlen=None, pad=True):
    """u64 header length, header bytes (space-padded to a multiple of 8), data."""
    h = htext.encode("utf-8") if isinstance(htext, str) else htext
    if pad:
        h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def entry(pairs, name):
    for k, v in pairs:
        if k == name:
            return v
    raise KeyError(name)


def main():
    os.makedirs(OUT, exist_ok=True)
    meta, tensors = read(os.path.join(FIXTURES, SOURCE))
    by_name = {t[0]: t for t in tensors}
    with open(os.path.join(FIXTURES, SOURCE), "rb") as f:
        good = f.read()

    # ---- the two bases ----
    small_t = [list(by_name[n]) for n in
               ("patch_embed.proj.bias", "patch_embed.norm.weight", "patch_embed.norm.bias")]

    def small(edit=None, data_edit=None):
        pairs, data = pack(meta, [list(t) for t in small_t])
        if edit:
            pairs = edit(pairs) or pairs
        if data_edit:
            data = data_edit(data)
        return header_text(pairs), data

    def keep_mini(name):
        if name.startswith(("patch_embed.", "layers.0.blocks.0.", "layers.1.downsample.",
                            "layers.1.blocks.0.")):
            return True
        return name in ("norm.weight", "norm.bias", "head.fc.weight", "head.fc.bias")

    C = 8  # channels of stage 1, the last stage of mini

    def mini_tensors():
        out = []
        for name, dt, shape, raw in tensors:
            if not keep_mini(name):
                continue
            if name in ("norm.weight", "norm.bias"):
                shape, raw = [C], raw[:4 * C]
            elif name == "head.fc.weight":
                a = np.frombuffer(raw, dtype="<f4").reshape(shape)[:, :C]
                shape, raw = [shape[0], C], np.ascontiguousarray(a).tobytes()
            out.append([name, dt, list(shape), raw])
        return out

    mini_meta = dict(meta, depths="1,1", num_heads="2,2")

    def mini(edit_tensors=None, meta_edit=None):
        ts = mini_tensors()
        if edit_tensors:
            ts = edit_tensors(ts) or ts
        m = dict(mini_meta)
        if meta_edit:
            m.update(meta_edit)
        pairs, data = pack(m, ts)
        return assemble(header_text(pairs), data)

    def set_entry(name, **kw):
        def edit(pairs):
            entry(pairs, name).update(kw)
        return edit

    def retype(name, dt, shape=None, raw=None):
        def edit(ts):
            for t in ts:
                if t[0] == name:
                    t[1] = dt
                    if shape is not None:
                        t[2] = shape
                    if raw is not None:
                        t[3] = raw(t[3])
        return edit

    def drop(name):
        return lambda ts: [t for t in ts if t[0] != name]

    cases = []  # (file, status, substring, what is wrong, bytes)

    def add(name, status, sub, what, blob):
        cases.append((name, status, sub, what, blob))

    def add_small(name, status, sub, what, edit=None, data_edit=None, **kw):
        h, d = small(edit, data_edit)
        add(name, status, sub, what, assemble(h, d, **kw))

    # ---- size and framing ----
    add("empty", "TRUNCATED", "8-byte", "0 bytes", b"")
    add("five_bytes", "TRUNCATED", "8-byte", "the first 5 bytes of the good file", good[:5])
    h, d = small()
    hb = h.encode() + b" " * ((-len(h)) % 8)
    add("header_len_past_end", "TRUNCATED", "runs past the end",
        "header length 64 bytes beyond the end of the file", assemble(h, d, hlen=len(hb) + len(d) + 64))
    add("header_len_at_bound", "TRUNCATED", "runs past the end",
        "header length exactly the 100 MB bound (allowed) but beyond the file",
        assemble(h, d, hlen=100_000_000))
    add("header_len_over_bound", "HEADER", "bound", "header length 100 MB + 1",
        assemble(h, d, hlen=100_000_001))
    add("header_len_u64_max", "HEADER", "bound", "header length 2^64 - 1",
        assemble(h, d, hlen=2**64 - 1))
    add("header_len_zero", "HEADER", "'{'", "header length 0, data follows",
        assemble(h, d, hlen=0))
    # header length one byte short: the JSON loses its closing brace (the pad is after it)
    add("header_len_short", "HEADER", "JSON", "header length cuts the JSON before its closing brace",
        assemble(h, b"", pad=False, hlen=len(h) - 1))

    # ---- not JSON, not an object ----
    add("header_not_json", "HEADER", "JSON", "header is '{not json}'", assemble("{not json}", b""))
    add("header_array", "HEADER", "'{'", "header is the JSON array '[]'", assemble("[]", b""))
    add("header_leading_text", "HEADER", "'{'",
        "header starts with 'x' before '{' (only JSON whitespace may come first)",
        assemble("x" + h, d))
    add("header_trailing_garbage", "HEADER", "JSON", "valid JSON object followed by 'x'",
        assemble(h + "x", d))
    add("header_truncated_json", "HEADER", "JSON", "header JSON cut in the middle of an entry",
        assemble(h[:len(h) // 2], b""))
    add("header_nul_byte", "HEADER", "JSON", "a NUL byte inside a tensor name",
        assemble(h.replace("patch_embed.norm.bias", "patch_embed.norm\u0000bias").encode("utf-8"), d))
    bad_utf8 = h.encode("utf-8").replace(b"patch_embed.norm.bias", b"patch_embed.norm\xff\xfebias")
    add("header_bad_utf8", "HEADER", "JSON", "invalid UTF-8 bytes inside a tensor name",
        assemble(bad_utf8, d))
    add("header_deep_nesting", "HEADER", "JSON", "a metadata-free header nesting 5000 arrays",
        assemble('{"x":' + "[" * 5000 + "]" * 5000 + "}", b""))
    dup_last = pack(meta, small_t)[0]
    dup_last.append(dup_last[-1])
    add("header_duplicate_key", "HEADER", "duplicate",
        "the tensor patch_embed.norm.bias appears twice (same entry)",
        assemble(header_text(dup_last), d))
    add("header_empty_object", "CONFIG", "architecture",
        "header '{}': no tensors, no metadata; parses, but no architecture", assemble("{}", b""))

    # ---- entries ----
    E = "patch_embed.proj.bias"
    add_small("entry_not_object", "HEADER", E, "the entry of patch_embed.proj.bias is the number 5",
              lambda p: [(k, 5 if k == E else v) for k, v in p])
    add_small("entry_missing_offsets", "HEADER", "data_offsets",
              "patch_embed.proj.bias has no data_offsets",
              lambda p: entry(p, E).pop("data_offsets") and None)
    add_small("entry_dtype_not_string", "HEADER", E, "patch_embed.proj.bias has dtype 32 (a number)",
              set_entry(E, dtype=32))
    add_small("entry_shape_not_array", "HEADER", E, "patch_embed.proj.bias has shape 4 (not an array)",
              set_entry(E, shape=4))
    add_small("shape_negative", "HEADER", "shape[0]", "patch_embed.proj.bias has shape [-4]",
              set_entry(E, shape=[-4]))
    add_small("shape_float", "HEADER", "shape[0]", "patch_embed.proj.bias has shape [4.0]",
              set_entry(E, shape=[Raw("4.0")]))
    add_small("shape_string", "HEADER", "shape[0]", "patch_embed.proj.bias has shape [\"4\"]",
              set_entry(E, shape=["4"]))
    add_small("shape_nine_dims", "HEADER", "9 dimensions",
              "patch_embed.proj.bias has 9 dimensions [1,1,1,1,1,1,1,1,4]",
              set_entry(E, shape=[1] * 8 + [4]))
    add_small("shape_overflow", "HEADER", "overflows",
              "patch_embed.proj.bias has shape [2^32, 2^32, 4]: the element count overflows 64 bits",
              set_entry(E, shape=[2**32, 2**32, 4]))
    add_small("shape_int_too_big", "HEADER", "JSON",
              "patch_embed.proj.bias has shape [2^64] (not a JSON int64)",
              set_entry(E, shape=[Raw(str(2**64))]))
    add_small("shape_bytes_overflow", "OFFSETS", E,
              "patch_embed.proj.bias has shape [2^62]: element count fits, byte count overflows",
              set_entry(E, shape=[2**62]))
    add_small("dtype_unknown", "DTYPE", "F33", "patch_embed.proj.bias has dtype \"F33\"",
              set_entry(E, dtype="F33"))
    add_small("offsets_three", "HEADER", "data_offsets", "data_offsets [0, 16, 16]",
              set_entry(E, data_offsets=[0, 16, 16]))
    add_small("offsets_negative", "HEADER", "data_offsets", "data_offsets [-16, 0]",
              set_entry(E, data_offsets=[-16, 0]))
    add_small("offsets_not_int", "HEADER", "data_offsets", "data_offsets [0.0, 16.0]",
              set_entry(E, data_offsets=[Raw("0.0"), Raw("16.0")]))
    add_small("offsets_backwards", "OFFSETS", "backwards", "data_offsets [16, 0]",
              set_entry(E, data_offsets=[16, 0]))
    add_small("offsets_size_mismatch", "OFFSETS", E,
              "data_offsets [0, 12] for F32 [4], which needs 16 bytes",
              set_entry(E, data_offsets=[0, 12]))
    add_small("offsets_overlap", "OFFSETS", "overlap",
              "patch_embed.norm.weight at [8, 24) overlaps patch_embed.proj.bias [0, 16)",
              set_entry("patch_embed.norm.weight", data_offsets=[8, 24]))
    add_small("offsets_past_data", "TRUNCATED", "truncated",
              "the last tensor's data is cut 4 bytes short (file truncated mid-data)",
              data_edit=lambda d: d[:-4])
    add_small("offsets_huge", "TRUNCATED", "truncated",
              "F32 [4] at data_offsets [2^63 - 17, 2^63 - 1], far past the data section",
              set_entry(E, data_offsets=[2**63 - 17, 2**63 - 1]))

    def hidden_overlap(p):
        # an empty tensor at 4 sorts between proj.bias [0,16) and a tensor at [8,24)
        entry(p, "patch_embed.norm.weight")["data_offsets"] = [8, 24]
        p.append(("empty.tensor", {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}))
    add_small("offsets_overlap_behind_empty", "OFFSETS", "overlap",
              "as offsets_overlap, plus a zero-size tensor at [4, 4) between the two", hidden_overlap)

    # ---- metadata ----
    add_small("meta_value_not_string", "HEADER", "not a string", "__metadata__ {\"arch\": 5}",
              lambda p: entry(p, "__metadata__").update(arch=5))
    add_small("meta_not_object", "HEADER", "__metadata__", "__metadata__ is [] (not an object)",
              lambda p: [(k, [] if k == "__metadata__" else v) for k, v in p])
    add_small("ok_header_missing_tensor", "MISSING_TENSOR", "patch_embed.proj.weight",
              "control: the small base unchanged; it parses and fails at binding")

    # ---- architecture and binding (mini base) ----
    add("mini_good", "OK", "", "control: the mini base, a valid 2-stage model", mini())
    add("missing_tensor", "MISSING_TENSOR", "layers.1.blocks.0.attn.qkv.weight",
        "layers.1.blocks.0.attn.qkv.weight dropped", mini(drop("layers.1.blocks.0.attn.qkv.weight")))
    add("missing_head_bias", "MISSING_TENSOR", "head.fc.bias", "head.fc.bias dropped",
        mini(drop("head.fc.bias")))
    add("wrong_shape", "SHAPE", "norm.weight", "norm.weight is [7] instead of [8]",
        mini(retype("norm.weight", "F32", [7], lambda r: r[:28])))
    add("wrong_shape_same_size", "SHAPE", "patch_embed.proj.weight",
        "patch_embed.proj.weight is [4, 3, 2, 8] instead of [4, 3, 4, 4] (same byte count)",
        mini(retype("patch_embed.proj.weight", "F32", [4, 3, 2, 8])))
    add("weight_i32", "DTYPE", "layers.0.blocks.0.mlp.fc1.weight",
        "layers.0.blocks.0.mlp.fc1.weight stored as I32 (same byte count)",
        mini(retype("layers.0.blocks.0.mlp.fc1.weight", "I32")))
    add("weight_f64", "DTYPE", "layers.1.downsample.reduction.weight",
        "layers.1.downsample.reduction.weight stored as F64",
        mini(retype("layers.1.downsample.reduction.weight", "F64",
                    raw=lambda r: np.frombuffer(r, "<f4").astype("<f8").tobytes())))
    add("meta_depths_malformed", "CONFIG", "depths", "metadata depths \"1,x\"",
        mini(meta_edit={"depths": "1,x"}))
    add("meta_arch_unknown", "CONFIG", "swin_gigantic", "metadata arch \"swin_gigantic\"",
        mini(meta_edit={"arch": "swin_gigantic"}))
    add("meta_arch_other_family", "CONFIG", "convnext_tiny",
        "metadata arch \"convnext_tiny\" (no such family)",
        mini(meta_edit={"arch": "convnext_tiny"}))
    add("meta_heads_not_dividing", "CONFIG", "heads",
        "metadata num_heads \"3,2\": 4 channels do not split into 3 heads",
        mini(meta_edit={"num_heads": "3,2"}))
    add("meta_heads_count", "CONFIG", "num_heads", "metadata depths \"1,1\" but num_heads \"2,2,2\"",
        mini(meta_edit={"num_heads": "2,2,2"}))
    add("meta_img_size_not_multiple", "CONFIG", "multiple", "metadata img_size \"226\" (patch 4)",
        mini(meta_edit={"img_size": "226"}))
    add("meta_img_size_zero", "CONFIG", "img_size", "metadata img_size \"0\"",
        mini(meta_edit={"img_size": "0"}))
    add("meta_img_size_negative", "CONFIG", "img_size", "metadata img_size \"-224\"",
        mini(meta_edit={"img_size": "-224"}))
    add("meta_mlp_ratio_text", "CONFIG", "mlp_ratio", "metadata mlp_ratio \"abc\"",
        mini(meta_edit={"mlp_ratio": "abc"}))
    add("meta_fewer_stages", "SHAPE", "stage 1",
        "metadata depths \"1\", num_heads \"2\" but the file has a stage 1",
        mini(meta_edit={"depths": "1", "num_heads": "2"}))
    add("meta_num_classes_mismatch", "SHAPE", "head.fc.weight",
        "metadata num_classes \"5\" but head.fc.weight is [10, 8]",
        mini(meta_edit={"num_classes": "5"}))
    add("meta_window_mismatch", "SHAPE", "relative_position_bias_table",
        "metadata window_size \"6\" but the bias tables have 169 rows (window 7)",
        mini(meta_edit={"window_size": "6"}))

    # ---- write ----
    for f in os.listdir(OUT):
        if f.endswith(".safetensors"):
            os.remove(os.path.join(OUT, f))
    for name, _, _, _, blob in cases:
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(blob)
    lines = [
        "# Malformed safetensors files",
        "",
        "Generated from `../swin_t7_224.safetensors`; do not edit by hand. Regenerate "
        "(deterministic, NumPy only, no torch):",
        "",
        "    /usr/bin/python3 tests/reference/gen_badfiles.py",
        "",
        "Each file breaks one thing, so that the intended check is the one that fails. "
        "`tests/test_badfiles.c` loads each through `swin_model_load_file` and "
        "`swin_model_load_memory` and expects the status below (`SWIN_ERR_` omitted) and a "
        "message containing the quoted text. Most header cases use the *small* base (three [4] "
        "tensors and the fixture's metadata; it parses, then fails to bind); the architecture "
        "cases use the *mini* base (stages 0 and 1 of the fixture, one block each, depths \"1,1\"; "
        "it loads). The two BUFFER_MISMATCH cases of the official naming are built in memory by "
        "the test from `../swin_t7_224_official.safetensors` (about 1 MB, too large to copy).",
        "",
        "| file | expected | message contains | what is wrong |",
        "|---|---|---|---|",
    ]
    for name, status, sub, what, _ in cases:
        lines.append(f"| `{name}.safetensors` | {status} | `{sub}` | {what} |")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(len(c[4]) for c in cases)
    print(f"wrote {len(cases)} files, {total} bytes, to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
