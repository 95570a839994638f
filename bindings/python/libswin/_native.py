"""Loads libswin and declares the C functions the package calls (ctypes, no compiled code).

The library is the one named by the environment variable SWIN_LIBRARY (a path), else the
installed libswin.so.0 found by the dynamic linker. Only the C ABI is used: opaque handles,
int statuses, int64/size_t/double scalars and float pointers; no struct layouts or macros.
"""
import ctypes
import ctypes.util
import os
import sys

SOVERSION = 0

# swin_pixel_format
PIXEL_RGB8, PIXEL_BGR8, PIXEL_RGBA8, PIXEL_BGRA8, PIXEL_GRAY8 = 0, 1, 2, 3, 4

_c_int64_p = ctypes.POINTER(ctypes.c_int64)
_c_float_p = ctypes.POINTER(ctypes.c_float)
_c_uint8_p = ctypes.POINTER(ctypes.c_uint8)
_handle = ctypes.c_void_p  # swin_model *, swin_context *, swin_tensor *, ...
_handle_p = ctypes.POINTER(ctypes.c_void_p)
_str = ctypes.c_char_p
_int = ctypes.c_int
_i64 = ctypes.c_int64
_size = ctypes.c_size_t
_dbl_p = ctypes.POINTER(ctypes.c_double)

# name: (restype, argtypes). swin_status is a C enum: int.
_PROTOTYPES = {
    "swin_version_number": (ctypes.c_uint, []),
    "swin_version_string": (_str, []),
    "swin_status_string": (_str, [_int]),
    "swin_last_error": (_str, []),
    "swin_clear_error": (None, []),
    "swin_set_num_threads": (_int, [_int]),
    "swin_get_num_threads": (_int, []),
    "swin_options_create": (_int, [_handle_p]),
    "swin_options_set": (_int, [_handle, _str, _str]),
    "swin_options_free": (None, [_handle]),
    "swin_model_load_file": (_int, [_handle_p, _str, _handle]),
    "swin_model_load_memory": (_int, [_handle_p, ctypes.c_void_p, _size, _handle]),
    "swin_model_free": (None, [_handle]),
    "swin_model_get": (_str, [_handle, _str]),
    "swin_model_config_count": (_size, [_handle]),
    "swin_model_config_item": (_int, [_handle, _size, ctypes.POINTER(_str), ctypes.POINTER(_str)]),
    "swin_option_count": (_size, []),
    "swin_option_info": (_int, [_size, ctypes.POINTER(_str), ctypes.POINTER(_str),
                                ctypes.POINTER(_str)]),
    "swin_arch_count": (_size, []),
    "swin_arch_info": (_int, [_size, ctypes.POINTER(_str), ctypes.POINTER(_str),
                              ctypes.POINTER(_int), ctypes.POINTER(_str)]),
    "swin_model_label": (_str, [_handle, _i64]),
    "swin_model_input_size": (_i64, [_handle]),
    "swin_model_num_classes": (_i64, [_handle]),
    "swin_model_num_stages": (_int, [_handle]),
    "swin_model_num_params": (_i64, [_handle]),
    "swin_model_stage_dims": (_int, [_handle, _int] + [_c_int64_p] * 6),
    "swin_model_flops": (_int, [_handle, _int, _dbl_p, _dbl_p]),
    "swin_model_num_tensors": (_size, [_handle]),
    "swin_model_tensor_info": (
        _int,
        [_handle, _size, ctypes.POINTER(_str), ctypes.POINTER(_str), ctypes.POINTER(_int),
         ctypes.POINTER(_c_int64_p)],
    ),
    "swin_tensor_create": (_int, [_handle_p, _int, _c_int64_p]),
    "swin_tensor_wrap": (_int, [_handle_p, _c_float_p, _int, _c_int64_p]),
    "swin_tensor_free": (None, [_handle]),
    "swin_tensor_data": (_c_float_p, [_handle]),
    "swin_tensor_ndim": (_int, [_handle]),
    "swin_tensor_dim": (_i64, [_handle, _int]),
    "swin_tensor_numel": (_i64, [_handle]),
    "swin_tensor_load_npy": (_int, [_handle_p, _str]),
    "swin_tensor_save_npy": (_int, [_handle, _str]),
    "swin_context_create": (_int, [_handle_p, _handle]),
    "swin_context_free": (None, [_handle]),
    "swin_context_reserve": (_int, [_handle, _i64, _i64, _i64]),
    "swin_context_set_num_threads": (_int, [_handle, _int]),
    "swin_context_memory_bytes": (_size, [_handle]),
    "swin_context_run": (_int, [_handle, _handle]),
    "swin_context_output": (_int, [_handle, _int, _int, _handle_p]),
    "swin_context_topk": (_int, [_handle, _i64, _i64, _c_int64_p, _c_float_p]),
    "swin_image_load_file": (_int, [_handle_p, _str]),
    "swin_image_load_memory": (_int, [_handle_p, ctypes.c_void_p, _size]),
    "swin_image_wrap_rgb8": (_int, [_handle_p, _c_uint8_p, _i64, _i64, _i64]),
    "swin_image_wrap": (_int, [_handle_p, ctypes.c_void_p, _i64, _i64, _i64, _int]),
    "swin_image_preprocess": (_int, [_handle, _handle, _handle, _i64]),
    "swin_image_free": (None, [_handle]),
    "swin_image_width": (_i64, [_handle]),
    "swin_image_height": (_i64, [_handle]),
    "swin_image_pixels": (_c_uint8_p, [_handle, _c_int64_p]),
}


def _candidates():
    if sys.platform == "darwin":
        return ["libswin.%d.dylib" % SOVERSION]
    if sys.platform == "win32":
        return ["swin.dll", "libswin.dll"]
    return ["libswin.so.%d" % SOVERSION]


def _load():
    # libswin runs OpenBLAS single-threaded; without this, OpenBLAS (when libswin loads it
    # first) starts an idle thread pool whose threads wait forever for their work buffers
    # under an address-space limit (docs/security.md). An explicit value is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    path = os.environ.get("SWIN_LIBRARY")
    if path:
        return ctypes.CDLL(path)  # an explicit choice: its failure is the caller's to see
    errors = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    found = ctypes.util.find_library("swin")
    if found:
        return ctypes.CDLL(found)
    raise OSError(
        "libswin not found (%s); install the libswin0 package, or set SWIN_LIBRARY to the path "
        "of libswin.so.%d" % ("; ".join(errors), SOVERSION)
    )


lib: ctypes.CDLL = _load()
for _name, (_res, _args) in _PROTOTYPES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
del _name, _res, _args, _f
