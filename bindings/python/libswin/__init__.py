"""libswin from Python: Swin Transformer and ViT inference on the CPU, over the C ABI (ctypes).

    import numpy as np, libswin
    model = libswin.Model("swin_tiny.safetensors")       # a file or a hub folder
    logits = model.run(np.zeros((1, 3, 224, 224), np.float32))
    for r in model.classify(["cat.jpg", "dog.png"], top=5):
        if r["error"] is None:
            print(r["path"], r["top"][0]["label"], r["top"][0]["prob"])

Images may be paths, encoded bytes (JPEG, PNG), PIL images (any mode, taken as convert("RGB")
takes it) or uint8 NumPy arrays [H, W, 3] (RGB), [H, W, 4] (RGBA, alpha dropped) or [H, W]
(gray). classify gives one result per image; an image that cannot be read gives a result whose
"error" says why (errors="raise" raises instead). A Model pickles (by path and options, or with
its bytes), so it can go to other processes (multiprocessing, libswin.dask).

A Model is immutable and may be shared by threads; a Context runs it, one call at a time (the
binding serializes calls on one Context; Model.run creates a fresh one per call; keep a Context
per thread for repeated runs). close() waits for the calls running in other threads, and calls
after it raise SwinError. Inputs go in without a copy when they are C-contiguous float32 arrays;
outputs are copied out of the context into new NumPy arrays. Every failure of the library
raises SwinError with its status and message; an integer outside its C type's range raises
ValueError (TypeError for a non-integer), and so does a string or path with a NUL character.
"""
from __future__ import annotations

import contextlib
import ctypes
import operator
import os
import sys
import threading
import weakref
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _native
from ._native import lib as _lib

#: What the image functions take: a path, encoded bytes, a PIL image or a uint8 array.
ImageInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, np.ndarray, Any]

__all__ = [
    "Context",
    "ImageInput",
    "Model",
    "Status",
    "SwinError",
    "get_num_threads",
    "architectures",
    "library_version",
    "load_image",
    "option_keys",
    "set_num_threads",
]
__version__ = "0.1.0"

# swin_output
OUTPUT_LOGITS, OUTPUT_FEATURES, OUTPUT_STAGE, OUTPUT_POOLER, OUTPUT_TOKENS = 0, 1, 2, 3, 4


class Status(int):
    """A swin_status value; str() gives its C name (SWIN_ERR_IO, ...)."""

    # Set below from the library's own names: Status.OK, Status.ERR_IO, ...
    OK: "Status"
    ERR_INVALID_ARGUMENT: "Status"
    ERR_IO: "Status"
    ERR_FORMAT: "Status"

    def __str__(self) -> str:
        return _lib.swin_status_string(int(self)).decode()

    __repr__ = __str__


for _i in range(64):
    _n = _lib.swin_status_string(_i).decode()
    if _n != "SWIN_ERR_UNKNOWN":
        setattr(Status, _n[5:] if _n.startswith("SWIN_") else _n, Status(_i))  # Status.ERR_IO
del _i, _n


class SwinError(Exception):
    """A libswin call failed: .status (Status), .message (swin_last_error()). Pickles with both
    (so it crosses process boundaries: multiprocessing, Dask)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = Status(status)
        self.message = message
        super().__init__("%s: %s" % (self.status, message))

    def __reduce__(self):
        return (SwinError, (int(self.status), self.message))


def _check(status: int) -> None:
    if status != 0:
        raise SwinError(status, _lib.swin_last_error().decode(errors="replace"))


_C_RANGES = {"int": (-2**31, 2**31 - 1), "int64_t": (-2**63, 2**63 - 1)}


def _c_int(value, what, ctype="int"):
    """value as a Python int within the C type's range: ctypes would wrap 2**32 to 0 silently.
    ValueError outside it, TypeError for a non-integer (2.5 is not truncated)."""
    v = operator.index(value)
    lo, hi = _C_RANGES[ctype]
    if not lo <= v <= hi:
        raise ValueError("%s %d is out of range for C %s (%d..%d)" % (what, v, ctype, lo, hi))
    return v


def _c_str(text, what):
    """A str as a NUL-terminated UTF-8 char *; ValueError if it holds a NUL, which C would take
    for its end."""
    b = text.encode()
    if b"\0" in b:
        raise ValueError("%s contains a NUL character: %r" % (what, text))
    return b


def _path(p):
    b = os.fsencode(p)
    if b"\0" in b:
        raise ValueError("path contains a NUL character: %r" % (p,))
    return b


def library_version() -> str:
    """Version string of the loaded libswin ("major.minor.patch")."""
    return _lib.swin_version_string().decode()


def set_num_threads(n: int) -> None:
    """Sets libswin's default number of threads per context (its worker threads plus the calling
    thread), 1..1024: process-global, picked up by every context at its next run unless
    Context.set_num_threads gave it its own. The default is the environment variable
    SWIN_NUM_THREADS, else the number of cores. (libswin runs OpenBLAS single-threaded; this is
    not OpenBLAS's thread count.)"""
    _check(_lib.swin_set_num_threads(_c_int(n, "threads")))


def get_num_threads() -> int:
    """libswin's default number of threads per context (see set_num_threads)."""
    return _lib.swin_get_num_threads()


def option_keys() -> Dict[str, Tuple[str, str]]:
    """The option keys libswin knows: {key: (family, description)}."""
    out = {}
    key, fam, desc = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
    for i in range(_lib.swin_option_count()):
        _check(_lib.swin_option_info(i, ctypes.byref(key), ctypes.byref(fam), ctypes.byref(desc)))
        out[key.value.decode()] = (fam.value.decode(), desc.value.decode())
    return out


def architectures() -> List[Dict[str, Any]]:
    """timm's architecture names libswin knows: a list of dicts {arch, family, pretrained,
    supported, missing} (missing: what libswin lacks to run it, or None)."""
    out = []
    name, fam, missing = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
    pre = ctypes.c_int()
    for i in range(_lib.swin_arch_count()):
        _check(_lib.swin_arch_info(i, ctypes.byref(name), ctypes.byref(fam), ctypes.byref(pre),
                                   ctypes.byref(missing)))
        m = None if missing.value is None else missing.value.decode()
        out.append({"arch": name.value.decode(), "family": fam.value.decode(),
                    "pretrained": bool(pre.value), "supported": m is None, "missing": m})
    return out


def _shape(ints):
    return (ctypes.c_int64 * len(ints))(*[int(v) for v in ints])


class _Tensor:
    """A swin_tensor wrapping a NumPy float32 array without copying (freed on exit)."""

    def __init__(self, array):
        self.array = array  # keeps the memory alive while the tensor exists
        self.handle = ctypes.c_void_p()
        _check(_lib.swin_tensor_wrap(ctypes.byref(self.handle),
                                     array.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                     array.ndim, _shape(array.shape)))

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        _lib.swin_tensor_free(self.handle)
        self.handle = None


def _copy_out(tensor):
    """New NumPy array holding a copy of a (borrowed) swin_tensor."""
    dims = tuple(_lib.swin_tensor_dim(tensor, i) for i in range(_lib.swin_tensor_ndim(tensor)))
    data = _lib.swin_tensor_data(tensor)
    return np.ctypeslib.as_array(data, shape=dims).copy()


def _as_batch(x):
    # Zero-copy when x already is a C-contiguous float32 array (np.asarray keeps the object).
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise SwinError(Status.ERR_INVALID_ARGUMENT,
                        "input must be [B, C, H, W] float32, got shape %s" % (x.shape,))
    return x


_ARRAY_FORMATS = {2: _native.PIXEL_GRAY8, 3: _native.PIXEL_RGB8, 4: _native.PIXEL_RGBA8}
# PIL modes libswin converts itself (as convert("RGB") would); other modes go through PIL.
_PIL_FORMATS = {"RGB": (_native.PIXEL_RGB8, 3), "RGBA": (_native.PIXEL_RGBA8, 4),
                "L": (_native.PIXEL_GRAY8, 1)}


def _is_pil_image(obj: Any) -> bool:
    pil = sys.modules.get("PIL.Image")  # never imports PIL: an image object means it is loaded
    return pil is not None and isinstance(obj, pil.Image)


def _is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def _wrap(handle, pixels, width: int, height: int, stride: int, fmt: int) -> None:
    """swin_image_wrap: pixels (a bytes-like object or a C-contiguous array) converted to an
    RGB8 image of libswin's own (the pixels are read during the call only)."""
    if isinstance(pixels, np.ndarray):
        ptr = pixels.ctypes.data_as(ctypes.c_void_p)
    else:
        ptr = ctypes.cast(ctypes.c_char_p(pixels), ctypes.c_void_p)
    _check(_lib.swin_image_wrap(ctypes.byref(handle), ptr, width, height, stride, fmt))


class _Image:
    """A decoded swin_image: from a path, encoded bytes, a PIL image or a uint8 array."""

    def __init__(self, source: ImageInput) -> None:
        self.handle = ctypes.c_void_p()
        if isinstance(source, np.ndarray):
            if source.dtype != np.uint8 or source.ndim not in (2, 3) or (
                    source.ndim == 3 and source.shape[2] not in (3, 4)):
                raise SwinError(Status.ERR_INVALID_ARGUMENT,
                                "an image array must be uint8 [H, W, 3] (RGB), [H, W, 4] (RGBA) "
                                "or [H, W] (gray), got %s %s" % (source.dtype, source.shape))
            px = np.ascontiguousarray(source)
            fmt = _ARRAY_FORMATS[px.shape[2] if px.ndim == 3 else 2]
            _wrap(self.handle, px, px.shape[1], px.shape[0], px.strides[0], fmt)
        elif _is_pil_image(source):
            im = source
            if im.mode not in _PIL_FORMATS:
                im = im.convert("RGB")  # palette, LA, I;16, CMYK, 1, ...: PIL's own conversion
            fmt, channels = _PIL_FORMATS[im.mode]
            _wrap(self.handle, im.tobytes(), im.width, im.height, im.width * channels, fmt)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            _check(_lib.swin_image_load_memory(ctypes.byref(self.handle), data, len(data)))
        elif _is_path(source):
            _check(_lib.swin_image_load_file(ctypes.byref(self.handle), _path(source)))
        else:
            raise TypeError("an image is a path, encoded bytes, a PIL image or a uint8 array, "
                            "not %s" % type(source).__name__)

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        _lib.swin_image_free(self.handle)
        self.handle = None


def load_image(source: ImageInput) -> np.ndarray:
    """Decodes an image as PIL's convert("RGB") does (a path or encoded JPEG/PNG bytes; a PIL
    image or an array is converted): a new uint8 array [H, W, 3]."""
    with _Image(source) as img:
        stride = ctypes.c_int64()
        px = _lib.swin_image_pixels(img, ctypes.byref(stride))
        h, w = _lib.swin_image_height(img), _lib.swin_image_width(img)
        rows = np.ctypeslib.as_array(px, shape=(h * stride.value,)).reshape(h, stride.value)
        return rows[:, :3 * w].reshape(h, w, 3).copy()


_EXTENSIONS = (".jpg", ".jpeg", ".png")


def _image_list(images: Union[ImageInput, Iterable[ImageInput]]) -> List[ImageInput]:
    """images as a list of single images: one image stands for itself, and each directory for
    its .jpg/.jpeg/.png files sorted by name."""
    if _is_path(images) or isinstance(images, (bytes, bytearray, memoryview)) or \
            _is_pil_image(images) or (isinstance(images, np.ndarray) and images.ndim in (2, 3)):
        images = [images]
    out: List[ImageInput] = []
    for item in images:
        if _is_path(item) and os.path.isdir(item):
            names = sorted(n for n in os.listdir(item) if os.path.splitext(n)[1].lower()
                           in _EXTENSIONS)
            out.extend(os.path.join(item, n) for n in names)
        else:
            out.append(item)
    return out


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SwinError) else "%s: %s" % (type(exc).__name__, exc)


def _check_errors(errors: str) -> None:
    if errors not in ("return", "raise"):
        raise ValueError('errors must be "return" or "raise", not %r' % (errors,))


class _Closable:
    """with-statement and garbage-collection closing of an object with close() and _handle."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()


class Model(_Closable):
    """A loaded model (swin_model): immutable, shareable between threads.

    path: a .safetensors file or a Hugging Face hub folder (model.safetensors + config.json).
    options: explicit architecture settings, {"arch": "swin_tiny_patch4_window7_224", ...};
    values may be strings, numbers or sequences of numbers (written "2,2,6,2").

    close() (or the end of a with block) frees it: it waits for the calls running on the model
    and its contexts in other threads to return, then frees every Context made from it and the
    model; calls that start once close() has begun raise SwinError ("the model is closed").

    A Model pickles as its path and options (the unpickling process loads the file again; the
    weights are memory-mapped, so processes on one host share them), or, loaded with
    from_bytes, as its bytes and options.
    """

    path: Optional[str]

    def __init__(self, path: Union[str, "os.PathLike[str]"],
                 options: Optional[Mapping[str, Any]] = None) -> None:
        self._data: Optional[bytes] = None
        self._init(lambda out, opts: _lib.swin_model_load_file(out, _path(path), opts), options)
        self.path = os.fspath(path)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview],
                   options: Optional[Mapping[str, Any]] = None) -> "Model":
        """Loads a model from safetensors bytes; the model keeps its own copy of them alive."""
        self = cls.__new__(cls)
        data = bytes(data)  # len() of a memoryview counts items, not bytes
        # The C model borrows the bytes (read only) until it is freed: self._data keeps them
        # alive, and is what pickling sends.
        self._data = data
        self._init(lambda out, opts: _lib.swin_model_load_memory(out, data, len(data), opts),
                   options)
        self.path = None
        return self

    def __reduce__(self):
        options = dict(self._options) if self._options else None
        if self.path is None:
            return (_model_from_bytes, (self._data, options))
        return (Model, (self.path, options))

    def __repr__(self) -> str:
        what = repr(self.path) if self.path is not None else "<%d bytes>" % len(self._data or b"")
        return "<libswin.Model %s%s>" % (what, " (closed)" if self._closed else "")

    def _init(self, load, options):
        self._handle = None
        self._options = dict(options) if options else None
        self._num_features: Optional[int] = None
        # Lifetime: _calls counts the calls in flight on the model or one of its contexts
        # (close() waits for them); the C model must outlive its contexts, so it is freed once
        # it is closed and _open_contexts, the contexts not yet freed, is 0. An RLock: a
        # Context's __del__ may run (garbage collection) in a thread that holds it.
        self._cv = threading.Condition(threading.RLock())
        self._closed = False
        self._calls = 0
        self._open_contexts = 0
        self._contexts = weakref.WeakSet()
        opts = ctypes.c_void_p()
        try:
            if options:
                _check(_lib.swin_options_create(ctypes.byref(opts)))
                for key, value in options.items():
                    if isinstance(value, (list, tuple)):
                        value = ",".join(str(v) for v in value)
                    _check(_lib.swin_options_set(opts, _c_str(str(key), "option key"),
                                                 _c_str(str(value), "option %s" % key)))
            handle = ctypes.c_void_p()
            _check(load(ctypes.byref(handle), opts))
            self._handle = handle
        finally:
            _lib.swin_options_free(opts)

    # -- lifetime --
    @contextlib.contextmanager
    def _use(self):
        """The model's handle, for one call: SwinError once close() has begun; close() waits
        until the call is over."""
        with self._cv:
            if self._closed:
                raise SwinError(Status.ERR_INVALID_ARGUMENT, "the model is closed")
            self._calls += 1
        try:
            yield self._handle
        finally:
            with self._cv:
                self._calls -= 1
                if self._calls == 0:
                    self._cv.notify_all()

    def close(self) -> None:
        """Frees the model, and first every Context made from it. Idempotent. Calls running on
        the model or its contexts in other threads return first (close waits for them); calls
        made once close has begun raise SwinError."""
        with self._cv:
            self._closed = True
            while self._calls:
                self._cv.wait()
            contexts = list(self._contexts)
        for ctx in contexts:
            ctx.close()
        self._free_if_unused()

    def _free_if_unused(self):
        with self._cv:
            if not self._closed or self._open_contexts or self._handle is None:
                return
            handle, self._handle = self._handle, None
        _lib.swin_model_free(handle)


    @property
    def handle(self):
        """The swin_model pointer, for other ctypes code: valid until close()."""
        if self._closed:
            raise SwinError(Status.ERR_INVALID_ARGUMENT, "the model is closed")
        return self._handle

    # -- facts --
    def get(self, key: str) -> Optional[str]:
        """Resolved architecture or preprocessing value for key (a string), or None."""
        with self._use() as h:
            v = _lib.swin_model_get(h, _c_str(key, "key"))
            return None if v is None else v.decode()

    @property
    def info(self) -> Dict[str, str]:
        """The model's resolved configuration (family, arch, naming, architecture values,
        preprocessing), as an ordered dict of strings."""
        out = {}
        key, value = ctypes.c_char_p(), ctypes.c_char_p()
        with self._use() as h:
            for i in range(_lib.swin_model_config_count(h)):
                _check(_lib.swin_model_config_item(h, i, ctypes.byref(key), ctypes.byref(value)))
                out[key.value.decode()] = value.value.decode()
        return out

    @property
    def num_classes(self) -> int:
        """Classes of the classifier head (0 without one)."""
        with self._use() as h:
            return _lib.swin_model_num_classes(h)

    @property
    def num_stages(self) -> int:
        with self._use() as h:
            return _lib.swin_model_num_stages(h)

    @property
    def num_params(self) -> int:
        with self._use() as h:
            return _lib.swin_model_num_params(h)

    @property
    def input_size(self) -> int:
        """Side S of the square input the model's preprocessing produces."""
        with self._use() as h:
            return _lib.swin_model_input_size(h)

    def label(self, index: int) -> Optional[str]:
        index = _c_int(index, "label index", "int64_t")
        with self._use() as h:
            v = _lib.swin_model_label(h, index)
            return None if v is None else v.decode()

    @property
    def labels(self) -> Optional[List[str]]:
        """Class names (config.json's label_names, ImageNet's for 1000 classes), or None."""
        names = [self.label(i) for i in range(self.num_classes)]
        return names if names and all(n is not None for n in names) else None

    def flops(self, stage: int = -1) -> Tuple[float, float]:
        """(flops, flops_global) in multiply-accumulates for one image; stage -1 = whole model."""
        stage = _c_int(stage, "stage")
        f, g = ctypes.c_double(), ctypes.c_double()
        with self._use() as h:
            _check(_lib.swin_model_flops(h, stage, ctypes.byref(f), ctypes.byref(g)))
        return f.value, g.value

    def stage_dims(self, stage: int) -> Dict[str, int]:
        """{depth, heads, channels, height, width, window} of one stage at img_size."""
        stage = _c_int(stage, "stage")
        v = [ctypes.c_int64() for _ in range(6)]
        with self._use() as h:
            _check(_lib.swin_model_stage_dims(h, stage, *[ctypes.byref(x) for x in v]))
        names = ("depth", "heads", "channels", "height", "width", "window")
        return dict(zip(names, (x.value for x in v)))

    def tensors(self) -> List[Tuple[str, str, Tuple[int, ...]]]:
        """The file's tensors in file order: a list of (name, dtype, shape)."""
        out = []
        name, dtype = ctypes.c_char_p(), ctypes.c_char_p()
        ndim, shape = ctypes.c_int(), ctypes.POINTER(ctypes.c_int64)()
        with self._use() as h:
            for i in range(_lib.swin_model_num_tensors(h)):
                _check(_lib.swin_model_tensor_info(h, i, ctypes.byref(name), ctypes.byref(dtype),
                                                   ctypes.byref(ndim), ctypes.byref(shape)))
                out.append((name.value.decode(), dtype.value.decode(),
                            tuple(shape[d] for d in range(ndim.value))))
        return out

    # -- running --
    def context(self) -> "Context":
        """A new Context (activation memory) for this model; calls on it run one at a time."""
        return Context(self)

    def run(self, x: np.ndarray, output: str = "logits", stage: int = 0) -> np.ndarray:
        """Runs x ([B, C, H, W] float32) in a fresh context; returns a copy of one output:
        "logits" [B, classes], "features" [B, C], "stage" (stage map `stage`, [B, H, W, C]),
        "tokens" (the token map after the final norm, [B, T, C]) or "pooler" [B, D]
        (transformers' ViTModel pooler, where the file has one)."""
        with self.context() as ctx:
            ctx.run(x)
            return ctx.output(output, stage)

    def preprocess(self, images: Union[ImageInput, Iterable[ImageInput]]) -> np.ndarray:
        """Decodes and preprocesses images (paths, encoded bytes, PIL images, uint8 arrays; a
        directory stands for its images) as timm evaluates; returns the batch [N, 3, S, S]
        float32. Raises on the first image that cannot be read."""
        items = _image_list(images)
        S = self.input_size
        batch = np.zeros((len(items), 3, S, S), dtype=np.float32)
        with _Tensor(batch) as t:
            for i, item in enumerate(items):
                self._preprocess_into(t, i, item)
        return batch

    def _preprocess_into(self, tensor, index: int, item: ImageInput) -> None:
        with _Image(item) as img, self._use() as h:
            _check(_lib.swin_image_preprocess(img, h, tensor, index))

    def _batches(self, items: List[ImageInput], batch: int, errors: str
                 ) -> Iterator[Tuple[List[int], Optional["Context"], Dict[int, str]]]:
        """Preprocesses items `batch` at a time and runs each batch: yields (the indices in
        items of the images run, in batch order; the context that ran them, or None when none
        could be read; {index in items: error text} for the images that could not be read).
        errors="raise" raises at the first image that cannot be read."""
        S = self.input_size
        with self.context() as ctx:
            for start in range(0, len(items), batch):
                chunk = items[start:start + batch]
                x = np.zeros((len(chunk), 3, S, S), dtype=np.float32)
                ok: List[int] = []
                failed: Dict[int, str] = {}
                with _Tensor(x) as t:
                    for j, item in enumerate(chunk):
                        try:
                            self._preprocess_into(t, len(ok), item)
                            ok.append(start + j)
                        except (SwinError, ValueError, TypeError, OSError) as e:
                            if errors == "raise":
                                raise
                            failed[start + j] = _error_text(e)
                if ok:
                    ctx.run(x[:len(ok)])
                yield ok, (ctx if ok else None), failed

    def classify(self, images: Union[ImageInput, Iterable[ImageInput]], top: int = 5,
                 batch: int = 8, errors: str = "return") -> List[Dict[str, Any]]:
        """Top-k classes of each image (as `swin classify --json`), one result per image, in
        order: {"path", "top": [{"index", "label", "prob"}, ...], "error"}. "path" is the path,
        or None for an image given as bytes, a PIL image or an array; a directory stands for its
        images. An image that cannot be read (missing, corrupt, a bad array) gives "top": []
        and "error": the reason, unless errors="raise", which raises its SwinError (ValueError,
        TypeError) instead; "error" is None otherwise. The probabilities are libswin's softmax
        (swin_context_topk); images are run `batch` at a time."""
        top, batch = operator.index(top), operator.index(batch)
        if top < 1 or batch < 1:
            raise ValueError("top and batch must be positive, not %d and %d" % (top, batch))
        _check_errors(errors)
        items = _image_list(images)
        if self.num_classes == 0:
            raise SwinError(Status.ERR_INVALID_ARGUMENT, "the model has no classifier head")
        k = min(top, self.num_classes)
        labels = [self.label(c) or "class %d" % c for c in range(self.num_classes)]
        results: List[Dict[str, Any]] = [
            {"path": os.fspath(item) if _is_path(item) else None, "top": [], "error": None}
            for item in items]
        for ok, ctx, failed in self._batches(items, batch, errors):
            for i, text in failed.items():
                results[i]["error"] = text
            for b, i in enumerate(ok):
                classes, probs = ctx.topk(k, b)
                results[i]["top"] = [{"index": int(c), "label": labels[c], "prob": float(p)}
                                     for c, p in zip(classes, probs)]
        return results

    def features(self, images: Union[ImageInput, Iterable[ImageInput]], batch: int = 8,
                 errors: str = "raise") -> np.ndarray:
        """Pooled features [N, C] float32 of images (taken as classify takes them), run `batch`
        at a time. An image that cannot be read raises, or with errors="nan" gives a row of
        NaN."""
        batch = operator.index(batch)
        if batch < 1:
            raise ValueError("batch must be positive, not %d" % batch)
        if errors not in ("raise", "nan"):
            raise ValueError('errors must be "raise" or "nan", not %r' % (errors,))
        items = _image_list(images)
        out = np.full((len(items), self.num_features), np.nan, dtype=np.float32)
        for ok, ctx, _ in self._batches(items, batch, "raise" if errors == "raise" else "return"):
            if ok:
                out[ok] = ctx.features()
        return out

    @property
    def num_features(self) -> int:
        """C, the width of the pooled features (runs one blank image the first time)."""
        if self._num_features is None:
            S = self.input_size
            self._num_features = int(self.run(np.zeros((1, 3, S, S), np.float32),
                                              "features").shape[1])
        return self._num_features


def _model_from_bytes(data: bytes, options: Optional[Mapping[str, Any]]) -> Model:
    return Model.from_bytes(data, options)


class Context(_Closable):
    """Activation memory for running a model (swin_context).

    Planned once per input shape; outputs of the last run are read with logits(), features(),
    stage(i) and stages(), each a new NumPy array. Calls on one Context from several threads
    run one at a time (a lock; the C library allows one thread at a time), so another thread's
    run may come between a run and the read of its outputs: keep a Context per thread."""

    def __init__(self, model: Model, threads: int = 0) -> None:
        """threads: the threads this context runs on (swin_context_set_num_threads); 0 follows
        set_num_threads() / SWIN_NUM_THREADS / the number of cores."""
        self._lock = threading.RLock()  # one call at a time; close() waits for the running one
        self._handle = None
        self.model = model  # the C model outlives the context (Model._free_if_unused)
        threads = _c_int(threads or 0, "threads")
        h = ctypes.c_void_p()
        with model._use() as mh:
            _check(_lib.swin_context_create(ctypes.byref(h), mh))
            with model._cv:  # before close() can list the contexts: it waits for this call
                self._handle = h
                model._open_contexts += 1
                model._contexts.add(self)
        if threads:
            self.set_num_threads(threads)

    @contextlib.contextmanager
    def _use(self):
        """The context's handle for one call, with the context's lock held and the call counted
        as one in flight on the model; SwinError once either is closed."""
        with self._lock:
            if self._handle is None:
                raise SwinError(Status.ERR_INVALID_ARGUMENT, "the context is closed")
            with self.model._use():
                yield self._handle

    def set_num_threads(self, n: int) -> None:
        """Threads for this context's runs (1..1024; 0: the process default)."""
        n = _c_int(n, "threads")
        with self._use() as h:
            _check(_lib.swin_context_set_num_threads(h, n))

    def close(self) -> None:
        """Frees the context. Idempotent. A call running on it in another thread returns first
        (close waits for it); calls made afterwards raise SwinError."""
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            _lib.swin_context_free(handle)
        model = self.model
        with model._cv:
            model._open_contexts -= 1
        model._free_if_unused()  # frees the model if it was closed while this context was open


    @property
    def handle(self):
        """The swin_context pointer, for other ctypes code: valid until close()."""
        if self._handle is None:
            raise SwinError(Status.ERR_INVALID_ARGUMENT, "the context is closed")
        return self._handle

    def reserve(self, batch: int, height: int, width: int) -> None:
        """Plans and allocates the memory for [batch, C, height, width] inputs ahead of run."""
        dims = [_c_int(v, n, "int64_t") for v, n in ((batch, "batch"), (height, "height"),
                                                    (width, "width"))]
        with self._use() as h:
            _check(_lib.swin_context_reserve(h, *dims))

    @property
    def memory_bytes(self) -> int:
        """Bytes of activation memory the context holds (0 before its first reserve or run)."""
        with self._use() as h:
            return _lib.swin_context_memory_bytes(h)

    def run(self, x: np.ndarray) -> "Context":
        """Runs the model on x ([B, C, H, W] float32, read in place when C-contiguous float32).
        Returns self, so that ctx.run(x).logits() reads."""
        x = _as_batch(x)
        with _Tensor(x) as t, self._use() as h:
            _check(_lib.swin_context_run(h, t))
        return self

    def output(self, kind: str = "logits", index: int = 0) -> np.ndarray:
        """A copy of one output of the last run: "logits", "features", "stage" (map `index`),
        "tokens" or "pooler"."""
        kinds = {"logits": OUTPUT_LOGITS, "features": OUTPUT_FEATURES, "stage": OUTPUT_STAGE,
                 "pooler": OUTPUT_POOLER, "tokens": OUTPUT_TOKENS}
        if kind not in kinds:
            raise SwinError(Status.ERR_INVALID_ARGUMENT,
                            "output kind must be logits, features, stage, tokens or pooler, not %r"
                            % (kind,))
        index = _c_int(index, "index")
        t = ctypes.c_void_p()
        with self._use() as h:  # the output is borrowed from the context: copy it out inside
            _check(_lib.swin_context_output(h, kinds[kind], index, ctypes.byref(t)))
            return _copy_out(t)

    def logits(self) -> np.ndarray:
        """[B, num_classes] of the last run."""
        return self.output("logits")

    def features(self) -> np.ndarray:
        """Pooled features [B, C] of the last run."""
        return self.output("features")

    def tokens(self) -> np.ndarray:
        """The token map [B, T, C] of the last run: the last hidden state after the final norm
        (ViT: prefix tokens first)."""
        return self.output("tokens")

    def topk(self, k: int, index: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """The k most probable classes of input `index` of the last run (libswin's softmax,
        swin_context_topk: max-subtracted, in double; ties to the lower class): (classes int64
        [k], probabilities float32 [k]), most probable first."""
        k = _c_int(k, "k", "int64_t")
        index = _c_int(index, "index", "int64_t")
        if k < 1:
            raise ValueError("k must be positive, not %d" % k)
        classes = np.zeros(k, np.int64)
        probs = np.zeros(k, np.float32)
        with self._use() as h:
            _check(_lib.swin_context_topk(h, index, k,
                                          classes.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
                                          probs.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
        return classes, probs

    def stage(self, index: int) -> np.ndarray:
        """Stage map `index` of the last run: [B, H_s, W_s, C_s]."""
        return self.output("stage", index)

    def stages(self) -> List[np.ndarray]:
        """Every stage map of the last run, stage 0 first."""
        return [self.stage(i) for i in range(self.model.num_stages)]
