"""Writes src/archs.c (the architecture table, see src/archs.h) and tests/fixtures/archs/ (what
timm's save_for_hf would write for each of those architectures) from a timm source tree.

    TIMM_SRC=/path/to/pytorch-image-models /usr/bin/python3 tools/gen_archs.py
    TIMM_SRC=/path/to/pytorch-image-models /usr/bin/python3 tools/gen_archs.py --verify

It imports timm from $TIMM_SRC (never an installed copy) and builds every model that
timm.list_models(PATTERNS) names once, at its defaults, on the CPU with weight initialisation
turned off. From each build it takes:
  - the keyword arguments the model class's __init__ received (each class's __init__ is wrapped
    to record them), merged with the signature's defaults, training-only ones left out;
  - timm's default pretrained_cfg for the name and whether timm publishes weights for it;
  - the parameter count, the state_dict's tensor names, shapes and dtypes, and the config.json
    that timm.models._hub.save_config_for_hf writes for the model.
--verify builds every model again and checks the files on disk: it reads the fixture back with
its own reader (expanding the {a..b} ranges) and compares every name's tensor names and shapes
with timm's state_dict and its config line with save_config_for_hf's output, checks the rows of
src/archs.c against timm, and checks that both files are what a fresh generation writes.
--keys FILE also writes, per model class, every argument key with the distinct values seen.
"""
import argparse
import collections
import contextlib
import enum
import functools
import gc
import gzip
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from pathlib import Path

PATTERNS = ["vit_*", "deit*", "swin*", "eva*"]
# module (under timm.models) -> the model classes it may build; any other class fails the run
CLASSES = {
    "vision_transformer": ["VisionTransformer"],
    "deit": ["VisionTransformerDistilled"],
    "vision_transformer_relpos": ["VisionTransformerRelPos"],
    "eva": ["Eva"],
    "swin_transformer": ["SwinTransformer"],
    "swin_transformer_v2": ["SwinTransformerV2"],
    "swin_transformer_v2_cr": ["SwinTransformerV2Cr"],
}
# keyword arguments that only matter for training or for the builder, left out of args
SKIP_ARGS = {"weight_init", "fix_init", "device", "dtype", "pretrained", "pretrained_cfg",
             "pretrained_cfg_overlay", "feature_cfg", "pretrained_strict", "pretrained_filter_fn",
             "cache_dir", "kwargs_filter", "model_cfg"}
CFG_FIELDS = ["tag", "input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std",
              "num_classes", "fixed_input_size"]
SAFETENSORS_DTYPES = {}  # torch dtype -> safetensors name, filled in by import_timm
GZIP_OVER = 400 * 1024  # the fixture is written gzipped when its text is larger than this

ROOT = Path(__file__).resolve().parent.parent
ARCHS_C = ROOT / "src" / "archs.c"
FIXTURE_DIR = ROOT / "tests" / "fixtures" / "archs"
REGEN = "TIMM_SRC=/path/to/pytorch-image-models /usr/bin/python3 tools/gen_archs.py"
VERIFY = REGEN + " --verify"


def fail(msg):
    raise SystemExit("gen_archs.py: " + msg)


# ---------------------------------------------------------------------------------------------
# timm, imported from $TIMM_SRC

def import_timm():
    src = os.environ.get("TIMM_SRC")
    if not src:
        fail("set TIMM_SRC to a timm source tree (the folder holding timm/)")
    src = os.path.abspath(src)
    if not os.path.isfile(os.path.join(src, "timm", "__init__.py")):
        fail("TIMM_SRC=%s holds no timm/__init__.py" % src)
    sys.path.insert(0, src)
    import timm  # noqa: E402
    import torch
    SAFETENSORS_DTYPES.update({
        torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
        torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
        torch.uint8: "U8", torch.bool: "BOOL"})
    if not os.path.abspath(timm.__file__).startswith(os.path.join(src, "timm") + os.sep):
        fail("imported timm from %s, not from TIMM_SRC" % timm.__file__)
    commit = "unknown"  # unless TIMM_SRC is the top of a git checkout
    try:
        top, head = subprocess.run(["git", "-C", src, "rev-parse", "--show-toplevel", "HEAD"],
                                   capture_output=True, text=True, check=True).stdout.split()
        if os.path.realpath(top) == os.path.realpath(src) and re.fullmatch(r"[0-9a-f]{40}", head):
            commit = head
    except (OSError, ValueError, subprocess.CalledProcessError):
        pass
    return timm, commit


# ---------------------------------------------------------------------------------------------
# Recording what each model class's __init__ receives

class Recorder:
    def __init__(self, timm):
        import importlib
        self.classes = {}  # class -> original __init__
        for mod_name, names in CLASSES.items():
            mod = importlib.import_module("timm.models." + mod_name)
            for n in names:
                self.classes[getattr(mod, n)] = None
        self.depth = 0
        self.calls = []
        for cls in self.classes:
            orig = cls.__dict__["__init__"]
            self.classes[cls] = orig
            cls.__init__ = self._wrap(orig)

    def _wrap(self, orig):
        rec = self

        @functools.wraps(orig)
        def __init__(self, *args, **kwargs):
            if rec.depth == 0:  # the outermost call: what the builder passed
                rec.calls.append((type(self), args, dict(kwargs)))
            rec.depth += 1
            try:
                orig(self, *args, **kwargs)
            finally:
                rec.depth -= 1
        return __init__

    def signature_params(self, cls):
        """The named __init__ parameters and defaults of cls, following **kwargs to its bases."""
        import torch
        params, seen = [], set()
        for klass in cls.__mro__:
            if klass is torch.nn.Module or klass is object:
                break
            if "__init__" not in klass.__dict__:
                continue
            init = self.classes.get(klass) or klass.__dict__["__init__"]
            var_kw = False
            for p in list(inspect.signature(init).parameters.values())[1:]:
                if p.kind == p.VAR_KEYWORD:
                    var_kw = True
                elif p.kind != p.VAR_POSITIONAL and p.name not in seen:
                    seen.add(p.name)
                    params.append((p.name, p.default))
            if not var_kw:
                break
        return params


def skip_arg(key):
    return "drop" in key or key in SKIP_ARGS


@contextlib.contextmanager
def no_init(classes):
    """Turns the weight initialisers of torch.nn.init and timm.layers into no-ops, wherever timm
    modules hold them, and the model classes' fix_init_weight (a rescale of some weights by depth)
    too, so building a model only allocates its tensors and does not touch their memory."""
    import torch
    import timm.layers.weight_init as wi
    fns = {}
    for mod in (torch.nn.init, wi):
        for k, v in vars(mod).items():
            if isinstance(v, types.FunctionType) and k.endswith("_") and not k.startswith("_"):
                fns[v] = lambda tensor, *a, **kw: tensor
    saved = []
    for cls in classes:
        if "fix_init_weight" in cls.__dict__:
            saved.append((cls, "fix_init_weight", cls.__dict__["fix_init_weight"]))
            cls.fix_init_weight = lambda self: None
    for mod in [torch.nn.init] + [m for n, m in sys.modules.items()
                                  if m is not None and (n == "timm" or n.startswith("timm."))]:
        for k, v in list(vars(mod).items()):
            if isinstance(v, types.FunctionType) and v in fns:
                saved.append((mod, k, v))
                setattr(mod, k, fns[v])
    try:
        yield
    finally:
        for mod, k, v in saved:
            setattr(mod, k, v)


# ---------------------------------------------------------------------------------------------
# Values as text (src/archs.h)

class Formatter:
    def __init__(self):
        self.nested = set()  # "key: value" of tuples that held tuples (flattened)
        self.special = collections.Counter()  # kinds of values seen beyond the plain ones
        # __name__ -> {module.qualname: {where}}
        self.qualnames = collections.defaultdict(lambda: collections.defaultdict(set))

    def __call__(self, v, where):
        if isinstance(v, enum.Enum):
            self.special["enum %s (%s)" % (type(v).__name__, where)] += 1
            return self(v.value, where)
        if v is None:
            return "none"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, str):
            return v
        if isinstance(v, (tuple, list)):
            items = []
            for x in v:
                if isinstance(x, (tuple, list)):
                    self.nested.add(where)
                items.append(self(x, where))
            return ",".join(items)
        if isinstance(v, functools.partial):
            if v.args:
                fail("%s: functools.partial with positional arguments: %r" % (where, v))
            self.special["functools.partial (%s)" % where] += 1
            kw = ",".join("%s=%s" % (k, self(v.keywords[k], where)) for k in sorted(v.keywords))
            return "%s(%s)" % (self(v.func, where), kw)
        if inspect.isclass(v) or isinstance(v, (types.FunctionType, types.BuiltinFunctionType)):
            self.qualnames[v.__name__]["%s.%s" % (v.__module__, v.__qualname__)].add(where)
            return v.__name__
        import torch
        if isinstance(v, torch.nn.Module):  # a built module passed in (a hybrid's backbone)
            self.special["nn.Module instance %s (%s)" % (type(v).__name__, where)] += 1
            return type(v).__name__
        fail("%s: no rule for a value of type %s: %r" % (where, type(v).__name__, v))


def c_string(s, where, nul=False):
    """A C string literal of printable ASCII s; nul: with "\\0" at its end (last in the literal,
    so that no digit after it can join an octal escape)."""
    if not all(" " <= ch <= "~" for ch in s):
        fail("%s: not printable ASCII: %r" % (where, s))
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + ("\\0" if nul else "") + '"'


# ---------------------------------------------------------------------------------------------
# One model

def describe(timm, rec, fmt, name, tmpdir):
    """Builds the model and returns everything the outputs need."""
    import torch
    from timm.models import _registry
    from timm.models._hub import save_config_for_hf

    rec.calls.clear()
    with no_init(rec.classes), torch.no_grad():
        model = timm.create_model(name)
    if len(rec.calls) != 1:
        fail("%s: %d model classes recorded, expected 1" % (name, len(rec.calls)))
    cls, args, kwargs = rec.calls[0]
    if type(model) is not cls or cls not in rec.classes:
        fail("%s: built %s, recorded %s" % (name, type(model).__name__, cls.__name__))
    if args:
        fail("%s: %s received positional arguments" % (name, cls.__name__))

    out_args, extra = [], []
    params = rec.signature_params(cls)
    names = {k for k, _ in params}
    for k, default in params:
        if skip_arg(k):
            continue
        v = kwargs[k] if k in kwargs else default
        if v is inspect.Parameter.empty:
            fail("%s: required argument %s not passed" % (name, k))
        out_args.append((k, fmt(v, "%s %s" % (cls.__name__, k))))
    for k, v in kwargs.items():
        if k not in names and not skip_arg(k):
            extra.append(k)
            out_args.append((k, fmt(v, "%s %s" % (cls.__name__, k))))

    pcfg = timm.models.get_pretrained_cfg(name)
    if pcfg is None:
        fail("%s: no pretrained_cfg" % name)
    pcfg = pcfg.to_dict()
    dcfg = _registry._model_default_cfgs.get(name)
    tag = dcfg.tags[0] if dcfg is not None and dcfg.tags else ""
    if (pcfg.get("tag") or "") != tag:
        fail("%s: default tag %r but pretrained_cfg tag %r" % (name, tag, pcfg.get("tag")))
    out_cfg = [("tag", tag)]
    for k in CFG_FIELDS[1:]:
        if pcfg.get(k) is not None:
            out_cfg.append((k, fmt(pcfg[k], "cfg " + k)))

    sd = model.state_dict()
    tensors = []  # (name, (shape, safetensors dtype))
    for k, t in sd.items():
        if t.dtype not in SAFETENSORS_DTYPES:
            fail("%s: state_dict tensor %s is %s" % (name, k, t.dtype))
        tensors.append((k, (tuple(t.shape), SAFETENSORS_DTYPES[t.dtype])))
    n_params = sum(p.numel() for p in model.parameters())

    path = Path(tmpdir) / "config.json"
    save_config_for_hf(model, path)
    config_text = path.read_text(encoding="utf-8")
    config = json.loads(config_text)
    del model, sd
    gc.collect()
    return {
        "name": name, "cls": cls.__name__, "args": out_args, "extra": extra, "cfg": out_cfg,
        "tag": tag, "params": n_params, "tensors": tensors,
        "config_text": config_text, "config": config,
        "config_line": json.dumps(config, separators=(",", ":"), sort_keys=False),
    }


# ---------------------------------------------------------------------------------------------
# The fixture: tensor names with one {a..b} range

def compress(tensors):
    """Groups (name, spec) pairs (spec: shape and dtype) into lines whose name has one
    dot-separated component written {a..b}: greedily the longest run of consecutive integers left
    (ties: the earlier first tensor, then the earlier component), until no run of two is left; the
    rest stay literal. Lines are returned in state_dict order of their first tensor."""
    cands = collections.defaultdict(dict)  # (prefix, suffix, j, spec) -> {int: tensor index}
    for i, (name, shape) in enumerate(tensors):
        if "{" in name or "}" in name or " " in name:
            fail("tensor name %r holds a brace or a space" % name)
        parts = name.split(".")
        for j, c in enumerate(parts):
            if c.isdigit() and str(int(c)) == c:
                cands[(".".join(parts[:j]), ".".join(parts[j + 1:]), j, shape)][int(c)] = i
    alive = [True] * len(tensors)
    lines = []  # (first index, name, shape)
    while True:
        best = None
        for key, m in cands.items():
            vals = sorted(v for v, i in m.items() if alive[i])
            start = 0
            for k in range(1, len(vals) + 1):
                if k == len(vals) or vals[k] != vals[k - 1] + 1:
                    if k - start >= 2:
                        a, b = vals[start], vals[k - 1]
                        score = (-(b - a + 1), m[a], key[2])
                        if best is None or score < best[0]:
                            best = (score, key, a, b)
                    start = k
        if best is None:
            break
        _, key, a, b = best
        prefix, suffix, _, shape = key
        m = cands[key]
        for v in range(a, b + 1):
            alive[m[v]] = False
        name = ".".join(x for x in (prefix, "{%d..%d}" % (a, b), suffix) if x)
        lines.append((m[a], name, shape))
    for i, (name, shape) in enumerate(tensors):
        if alive[i]:
            lines.append((i, name, shape))
    lines.sort()
    return [(name, shape) for _, name, shape in lines]


def spec_text(spec):
    shape, dtype = spec
    text = ",".join(str(d) for d in shape) if shape else "-"
    return text if dtype == "F32" else text + " " + dtype


def fixture_text(rows):
    out = io.StringIO()
    for r in rows:
        out.write("arch %s\n" % r["name"])
        out.write("config %s\n" % r["config_line"])
        for name, shape in compress(r["tensors"]):
            out.write("t %s %s\n" % (name, spec_text(shape)))
        out.write("end\n")
    return out.getvalue()


def gzip_bytes(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def read_fixture(path):
    """The reader a C test would be:
    {name: (config line, [(tensor name, (shape, dtype)), ...])}."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    out, cur = {}, None
    for n, line in enumerate(data.decode("ascii").split("\n"), 1):
        if line == "" and cur is None:
            continue
        word, _, rest = line.partition(" ")
        if word == "arch" and cur is None:
            cur = [rest, None, []]
        elif word == "config" and cur is not None and cur[1] is None:
            cur[1] = rest
        elif word == "t" and cur is not None and cur[1] is not None:
            fields = rest.split(" ")
            if len(fields) not in (2, 3) or (len(fields) == 3 and fields[2] == "F32"):
                fail("%s:%d: bad t line %r" % (path, n, line))
            tname, shape = fields[0], fields[1]
            shape = () if shape == "-" else tuple(int(d) for d in shape.split(","))
            shape = (shape, fields[2] if len(fields) == 3 else "F32")
            m = re.fullmatch(r"(.*)\{(\d+)\.\.(\d+)\}(.*)", tname)
            if m:
                for v in range(int(m.group(2)), int(m.group(3)) + 1):
                    cur[2].append((m.group(1) + str(v) + m.group(4), shape))
            else:
                cur[2].append((tname, shape))
        elif word == "end" and rest == "" and cur is not None:
            if cur[0] in out:
                fail("%s:%d: arch %s twice" % (path, n, cur[0]))
            out[cur[0]] = (cur[1], cur[2])
            cur = None
        else:
            fail("%s:%d: unexpected line %r" % (path, n, line[:80]))
    if cur is not None:
        fail("%s: ends inside arch %s" % (path, cur[0]))
    return out


# ---------------------------------------------------------------------------------------------
# src/archs.c

def pack(items, indent, width=100, sep=","):
    """Items, each followed by sep, on lines of at most width columns."""
    lines, cur = [], indent
    for it in items:
        piece = it + sep
        if cur != indent and len(cur) + 1 + len(piece) > width:
            lines.append(cur)
            cur = indent
        cur += ("" if cur == indent else " ") + piece
    lines.append(cur)
    return "\n".join(lines)


def archs_c(rows, version, commit):
    """The table as C. Each row's arguments and cfg are one char array of NUL-terminated
    key and value strings, ended by an empty key: no pointers to relocate at load, so the
    table costs no memory until it is read."""
    out = io.StringIO()
    out.write("/* Generated by tools/gen_archs.py from timm %s (git commit %s); do not edit.\n"
              " * Regenerate with:\n *     %s\n"
              " * The architecture table: see archs.h. */\n" % (version, commit, REGEN))
    out.write('#include "archs.h"\n')
    for i, r in enumerate(rows):
        out.write("\n/* %s */\n" % r["name"])
        for prefix, pairs in (("a", r["args"]), ("c", r["cfg"])):
            items = []
            for k, v in pairs:
                where = "%s %s" % (r["name"], k)
                items.append(c_string(k, where, nul=True))
                items.append(c_string(v, where, nul=True))
            body = pack(items, "    ", sep="")
            out.write("static const char %s_%d[] =\n%s;\n" % (prefix, i, body))
    out.write("\nconst swin_arch swin__archs[] = {\n")
    for i, r in enumerate(rows):
        row = '    {"%s", "%s", %s, %d, a_%d, c_%d},\n' % (
            r["name"], r["cls"], "true" if r["pretrained"] else "false", r["params"], i, i)
        if len(row) > 101:
            row = row.replace('", ', '",\n     ', 2).replace('",\n     ', '", ', 1)
        out.write(row)
    out.write("};\n\nconst size_t swin__num_archs = sizeof swin__archs / sizeof swin__archs[0];\n")
    return out.getvalue()


ROW_RE = re.compile(r'^    \{"([^"]+)", "([^"]+)",\s+(true|false), (\d+), a_(\d+), c_(\d+)\},$',
                    re.M)


# ---------------------------------------------------------------------------------------------
# README and the keys summary

def fixture_readme(rows, version, commit, fixture_name, fixture_size, text_size, n_lines):
    per_class = collections.Counter(r["cls"] for r in rows)
    pre_class = collections.Counter(r["cls"] for r in rows if r["pretrained"])
    n_tensors = sum(len(r["tensors"]) for r in rows)
    table = "\n".join("| %s | %d | %d |" % (c, per_class[c], pre_class[c])
                      for c in sorted(per_class))
    odd = collections.Counter()  # (dtype, scalar) -> tensors
    odd_names, odd_tensors = set(), set()
    for r in rows:
        for tname, (shape, dtype) in r["tensors"]:
            if dtype != "F32" or not shape:
                odd[(dtype, "scalar" if not shape else "non-scalar")] += 1
                odd_names.add(r["name"])
                odd_tensors.add(tname.rpartition(".")[2])
    if odd:
        odd_text = "All are F32 with at least one dimension, except %s (named %s), in %d " \
            "architectures: %s." % (
                ", ".join("%d %s %s" % (n, k[1], k[0]) for k, n in sorted(odd.items())),
                ", ".join("*.%s" % t for t in sorted(odd_tensors)), len(odd_names),
                ", ".join(sorted(odd_names)))
    else:
        odd_text = "All are F32 with at least one dimension."
    odd_text = textwrap.fill(odd_text, 100, break_on_hyphens=False)
    patterns = ", ".join("'%s'" % p for p in PATTERNS)
    gz = ",\ngzipped (level 9, no file name, mtime 0: byte-reproducible)" if fixture_name.endswith(
        ".gz") else ""
    return """# Architecture walk-test data

`{fixture}` holds, for every architecture name in `src/archs.c` (the {n} names
`timm.list_models([{patterns}])` returns, pretrained or not), what timm's
`save_for_hf` would write into a hub folder for `timm.create_model(name)` at its defaults: the
`config.json` (`timm.models._hub.save_config_for_hf`, no label names) and the names, shapes and
dtypes of the tensors in `model.safetensors` (`model.state_dict()`: parameters and persistent
buffers). A C test can build each hub folder from it and load it, without timm.

Generated, together with `src/archs.c` in the same run, from timm {version} (git commit {commit}),
by

    {regen}

and checked by

    {verify}

which builds every model again and compares it with this file, read back by its own reader
(ranges expanded), and checks that `src/archs.c` and this folder are what the generator writes.

## Format

ASCII text, `\\n` line ends, one block per architecture, in `src/archs.c` order (strcmp){gz}:

```
arch <name>
config <config.json as one line>
t <tensor name> <d0,d1,...> [<dtype>]
...
end
```

- `config`: the object `save_config_for_hf` writes, as
  `json.dumps(obj, separators=(",", ":"))`: compact, keys in the order timm writes them. timm
  itself writes it indented (`json.dump(obj, f, indent=2)`): the same object, other whitespace.
- `t`: one tensor, or a run of them. The shape is the dimensions comma-separated, `-` for a
  scalar (shape `[]`). The dtype, a safetensors dtype name, is there only when it is not `F32`.
- A tensor name may hold one range `{{a..b}}` (decimal, a < b, inclusive, step 1) as one whole
  dot-separated component; it stands for the b-a+1 tensors named with a, a+1, ..., b in its
  place, all with that shape and dtype. No name holds a space or a brace otherwise.
- The expanded names are exactly the state_dict's keys, each once. Their order is not the
  state_dict's: ranges group tensors across blocks (`blocks.{{0..11}}.norm1.weight`). Each line
  sits at the state_dict position of its first tensor, and a range expands in increasing order;
  compare as sets.
- How ranges are chosen (for reproducibility only; a reader needs none of it): of all runs of
  consecutive integers in one component of names that agree elsewhere and have the same shape
  and dtype, the longest is taken first (ties: the earlier first tensor, then the earlier
  component), until no run of two or more is left.

## Counts

{n} architectures, {pre} with pretrained weights in timm; {nt} tensors written as {nl} `t` lines.
{odd}

`{fixture}`: {size} bytes ({text} bytes of text).

| class | names | pretrained |
|---|---|---|
{table}
""".format(fixture=fixture_name, n=len(rows), patterns=patterns, version=version, commit=commit,
           regen=REGEN, verify=VERIFY, gz=gz, pre=sum(r["pretrained"] for r in rows),
           nt=n_tensors, nl=n_lines, odd=odd_text, size=fixture_size, text=text_size, table=table)


def keys_summary(rows, fmt, version):
    out = io.StringIO()
    out.write("Distinct args per model class, from timm %s (tools/gen_archs.py --keys).\n"
              % version)
    out.write("Per key: each value seen, the number of names with it, and the names when 5 or "
              "fewer.\n")
    by_cls = collections.defaultdict(list)
    for r in rows:
        by_cls[r["cls"]].append(r)
    for cls in sorted(by_cls):
        rs = by_cls[cls]
        out.write("\n== %s (%d names)\n" % (cls, len(rs)))
        keys = []
        for r in rs:
            for k, _ in r["args"]:
                if k not in keys:
                    keys.append(k)
        for k in keys:
            vals = collections.defaultdict(list)
            for r in rs:
                d = dict(r["args"])
                vals[d.get(k, "<absent>")].append(r["name"])
            const = " (same for all)" if len(vals) == 1 else ""
            out.write("  %s%s\n" % (k, const))
            for v in sorted(vals, key=lambda v: (-len(vals[v]), v)):
                ns = vals[v]
                tail = ": " + " ".join(ns) if len(ns) <= 5 and len(vals) > 1 else ""
                out.write("      %-40s %3d%s\n" % (json.dumps(v), len(ns), tail))
    extra = sorted({(r["cls"], k) for r in rows for k in r["extra"]})
    out.write("\nKeys passed that are not in the class signature: %s\n" % (extra or "none"))
    out.write("Tuples that held tuples (flattened): %s\n" % (sorted(fmt.nested) or "none"))
    out.write("Special value kinds: %s\n" % (dict(fmt.special) or "none"))
    out.write("Names that stand for more than one class or function:\n")
    for k in sorted(fmt.qualnames):
        if len(fmt.qualnames[k]) > 1:
            for q, wheres in sorted(fmt.qualnames[k].items()):
                out.write("  %s = %s in: %s\n" % (k, q, ", ".join(sorted(wheres))))
    return out.getvalue()


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verify", action="store_true",
                    help="check the files on disk against timm instead of writing them")
    ap.add_argument("--keys", metavar="FILE", help="also write the distinct args per class")
    opts = ap.parse_args()

    t0 = time.time()
    timm, commit = import_timm()
    version = timm.__version__
    names = sorted(timm.list_models(PATTERNS))
    pretrained_tags = set(timm.list_models(PATTERNS, pretrained=True))
    rec, fmt = Recorder(timm), Formatter()

    on_disk = None
    if opts.verify:
        found = [p for p in (FIXTURE_DIR / "timm_hub.txt", FIXTURE_DIR / "timm_hub.txt.gz")
                 if p.exists()]
        if len(found) != 1:
            fail("expected exactly one of timm_hub.txt, timm_hub.txt.gz in %s" % FIXTURE_DIR)
        on_disk = read_fixture(found[0])
        if sorted(on_disk) != names:
            fail("fixture names differ from timm's: missing %s, extra %s" % (
                sorted(set(names) - set(on_disk)), sorted(set(on_disk) - set(names))))
        c_rows = {m.group(1): m for m in ROW_RE.finditer(ARCHS_C.read_text(encoding="ascii"))}
        if sorted(c_rows) != names:
            fail("src/archs.c names differ from timm's")

    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for i, name in enumerate(names):
            t1 = time.time()
            r = describe(timm, rec, fmt, name, tmpdir)
            tagged = sorted(p for p in pretrained_tags if p == name or p.startswith(name + "."))
            r["pretrained"] = bool(tagged)
            default_tagged = (name + "." + r["tag"]) if r["tag"] else name
            if r["pretrained"] and default_tagged not in pretrained_tags:
                print("note: %s has weights, but not for its default tag %r" % (name, r["tag"]),
                      file=sys.stderr)
            rows.append(r)
            print("[%3d/%d] %-52s %-28s %13d params %5d tensors %5.1fs" % (
                i + 1, len(names), name, r["cls"], r["params"], len(r["tensors"]),
                time.time() - t1), file=sys.stderr)
            if on_disk is not None:
                config_line, tensors = on_disk[name]
                want = dict(r["tensors"])
                if len(tensors) != len(want) or dict(tensors) != want:
                    got = dict(tensors)
                    fail("%s: fixture tensors differ: missing %s, extra %s, shape %s" % (
                        name, sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5],
                        [k for k in want if k in got and got[k] != want[k]][:5]))
                if json.loads(config_line) != json.loads(r["config_text"]):
                    fail("%s: fixture config differs from save_config_for_hf's" % name)
                m = c_rows[name]
                if (m.group(2), m.group(3) == "true", int(m.group(4))) != (
                        r["cls"], r["pretrained"], r["params"]):
                    fail("%s: src/archs.c row %s differs from timm" % (name, m.group(0).strip()))

    text = fixture_text(rows)
    data = text.encode("ascii")
    gz = len(data) > GZIP_OVER
    fixture = FIXTURE_DIR / ("timm_hub.txt.gz" if gz else "timm_hub.txt")
    stale = FIXTURE_DIR / ("timm_hub.txt" if gz else "timm_hub.txt.gz")
    blob = gzip_bytes(data) if gz else data
    n_lines = text.count("\nt ")
    outputs = {
        ARCHS_C: archs_c(rows, version, commit).encode("ascii"),
        fixture: blob,
        FIXTURE_DIR / "README.md": fixture_readme(rows, version, commit, fixture.name, len(blob),
                                                  len(data), n_lines).encode("ascii"),
    }
    if opts.verify:
        for path, content in outputs.items():
            if not path.exists() or path.read_bytes() != content:
                fail("%s is not what this timm generates; regenerate it" % path.relative_to(ROOT))
        if stale.exists():
            fail("%s is stale" % stale.relative_to(ROOT))
        print("verified %d architectures against timm %s in %.0fs" % (
            len(rows), version, time.time() - t0), file=sys.stderr)
    else:
        FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
        for path, content in outputs.items():
            path.write_bytes(content)
        if stale.exists():
            stale.unlink()
        print("wrote %s (%d bytes), %s (%d bytes; %d bytes of text) in %.0fs" % (
            ARCHS_C.relative_to(ROOT), len(outputs[ARCHS_C]), fixture.relative_to(ROOT),
            len(blob), len(data), time.time() - t0), file=sys.stderr)
    if opts.keys:
        Path(opts.keys).write_text(keys_summary(rows, fmt, version), encoding="utf-8")


if __name__ == "__main__":
    main()
