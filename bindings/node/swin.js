'use strict';
// libswin through koffi: the C ABI only (opaque handles, int statuses, float pointers), no
// macros and no struct layouts. See docs/ffi.md. The library is SWIN_LIBRARY, else the
// installed libswin.so.0.
// Lifetime: every call is synchronous (koffi's plain calls, never .async), and run() frees the
// model, context and tensor it made before it returns, so no handle outlives a call and no
// free can race a running call (each worker thread loads its own copy of this module).
// The raw functions in `c` carry the C rules (docs/threading.md).
const koffi = require('koffi');

// libswin runs OpenBLAS single-threaded; without this, OpenBLAS starts an idle thread pool
// whose threads wait forever for their work buffers under an address-space limit
// (docs/security.md). An explicit value is kept.
if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';
const lib = koffi.load(process.env.SWIN_LIBRARY || 'libswin.so.0');

// Opaque handles: pointers to types whose layout is never needed.
for (const name of ['swin_model', 'swin_context', 'swin_tensor', 'swin_options'])
    koffi.opaque(name);

const c = {
    last_error: lib.func('const char *swin_last_error(void)'),
    status_string: lib.func('const char *swin_status_string(int status)'),
    version_string: lib.func('const char *swin_version_string(void)'),
    model_load_file: lib.func(
        'int swin_model_load_file(_Out_ swin_model **out, const char *path, const swin_options *opts)'),
    model_free: lib.func('void swin_model_free(swin_model *model)'),
    model_get: lib.func('const char *swin_model_get(const swin_model *model, const char *key)'),
    model_num_classes: lib.func('int64_t swin_model_num_classes(const swin_model *model)'),
    tensor_create: lib.func(
        'int swin_tensor_create(_Out_ swin_tensor **out, int ndim, const int64_t *shape)'),
    tensor_free: lib.func('void swin_tensor_free(swin_tensor *tensor)'),
    tensor_data: lib.func('float *swin_tensor_data(const swin_tensor *tensor)'),
    tensor_ndim: lib.func('int swin_tensor_ndim(const swin_tensor *tensor)'),
    tensor_dim: lib.func('int64_t swin_tensor_dim(const swin_tensor *tensor, int i)'),
    tensor_numel: lib.func('int64_t swin_tensor_numel(const swin_tensor *tensor)'),
    context_create: lib.func('int swin_context_create(_Out_ swin_context **out, const swin_model *model)'),
    context_free: lib.func('void swin_context_free(swin_context *ctx)'),
    context_run: lib.func('int swin_context_run(swin_context *ctx, const swin_tensor *input)'),
    // kind: a swin_output value (OUTPUTS below)
    context_output: lib.func(
        'int swin_context_output(swin_context *ctx, int kind, int index, _Out_ const swin_tensor **out)'),
};

// swin_output: the outputs of a pass. tokens: the token map [B, T, C] after the final norm
// (ViT: prefix tokens first; Swin: [B, H*W, C]); pooler: transformers ViTModel's pooler.
const OUTPUTS = {logits: 0, features: 1, stage: 2, pooler: 3, tokens: 4};

class SwinError extends Error {
    constructor(status) {
        super(`${c.status_string(status)}: ${c.last_error()}`);
        this.status = status;
    }
}

function check(status) {
    if (status !== 0) throw new SwinError(status);
}

// Arguments are checked before they reach C: koffi would pass 2**32 + 3 to an int as 3, 3.7 as
// 3 and NaN as 0, BigInt64Array.from wraps 2n**64n + 2n to 2, and C reads a string only up to
// its first NUL.
function cInt(value, what) { // C int: a Number or BigInt integer in -2^31..2^31-1
    if (typeof value !== 'number' && typeof value !== 'bigint')
        throw new TypeError(`${what} must be an integer, not ${typeof value}`);
    if (typeof value === 'number' && !Number.isInteger(value))
        throw new RangeError(`${what} ${value} is not an integer`);
    if (value < -(2 ** 31) || value > 2 ** 31 - 1)
        throw new RangeError(`${what} ${value} is out of range for C int (-2^31..2^31-1)`);
    return Number(value);
}

function cInt64(value, what) { // int64_t, as a BigInt: a BigInt in range, or an exact Number
    if (typeof value === 'bigint') {
        if (value < -(2n ** 63n) || value > 2n ** 63n - 1n)
            throw new RangeError(`${what} ${value} is out of range for C int64_t (-2^63..2^63-1)`);
        return value;
    }
    if (typeof value !== 'number') throw new TypeError(`${what} must be an integer, not ${typeof value}`);
    if (!Number.isSafeInteger(value))  // beyond 2^53 a Number is not the integer that was written
        throw new RangeError(`${what} ${value} is not an integer within +-(2^53-1); use a BigInt`);
    return BigInt(value);
}

function cString(value, what) {
    if (typeof value !== 'string') throw new TypeError(`${what} must be a string, not ${typeof value}`);
    if (value.includes('\0')) throw new TypeError(`${what} contains a NUL character: ${JSON.stringify(value)}`);
    return value;
}

// Runs a model on a batch. input: Float32Array of numel(shape) floats, NCHW; shape: integers
// (Numbers up to 2^53, or BigInts). Returns {shape, data} with a copy of the output: kind is a
// name of OUTPUTS ('logits', 'features', 'tokens', 'pooler', 'stage') or its number; index
// picks the stage of 'stage'. A path with a NUL or a non-integer or out-of-range number throws
// TypeError or RangeError before anything is loaded; a failure of the library, SwinError.
// The input tensor is allocated by libswin (swin_tensor_create) and filled through a view of its
// memory: the tensor keeps its data pointer after the call that made it, and a pointer into a
// JS-managed array is only guaranteed for the duration of one call (docs/ffi.md).
function run(modelPath, input, shape, kind = 'logits', index = 0) {
    const k = typeof kind === 'string' ? (Object.hasOwn(OUTPUTS, kind) ? OUTPUTS[kind] : undefined)
                                       : cInt(kind, 'output kind');
    if (k === undefined) throw new RangeError(`unknown output ${kind}: one of ${Object.keys(OUTPUTS)}`);
    cString(modelPath, 'model path');
    index = cInt(index, 'index');
    if (!Array.isArray(shape) && !ArrayBuffer.isView(shape))
        throw new TypeError('shape must be an array of integers');
    const shape64 = BigInt64Array.from(shape, (d, i) => cInt64(d, `shape[${i}]`));
    const ndim = cInt(shape.length, 'ndim');
    const model = [null], ctx = [null], tensor = [null], out = [null];
    try {
        check(c.model_load_file(model, modelPath, null));
        check(c.context_create(ctx, model[0]));
        check(c.tensor_create(tensor, ndim, shape64));
        const n_in = Number(c.tensor_numel(tensor[0]));
        if (n_in !== input.length) throw new RangeError(`input has ${input.length} floats, shape needs ${n_in}`);
        new Float32Array(koffi.view(c.tensor_data(tensor[0]), 4 * n_in)).set(input);
        check(c.context_run(ctx[0], tensor[0]));
        check(c.context_output(ctx[0], k, index, out));
        const dims = [];
        for (let i = 0; i < c.tensor_ndim(out[0]); i++) dims.push(Number(c.tensor_dim(out[0], i)));
        // the output is owned by the context: copy it out before freeing the context
        const n = Number(c.tensor_numel(out[0]));
        const data = Float32Array.from(koffi.decode(c.tensor_data(out[0]), 'float', n));
        return {shape: dims, data};
    } finally {
        c.tensor_free(tensor[0]);
        c.context_free(ctx[0]);
        c.model_free(model[0]);
    }
}

// Minimal .npy reader: little-endian float32, C order (what examples/ holds).
function readNpy(path) {
    const buf = require('fs').readFileSync(path);
    if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
    const major = buf[6];
    const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', start, start + hlen);
    if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
        throw new Error(`${path}: not a C-order little-endian float32 array`);
    const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = buf.subarray(start + hlen, start + hlen + 4 * n);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bytes);  // copy: the file's offset need not be 4-aligned
    return {shape, data};
}

module.exports = {run, readNpy, SwinError, OUTPUTS, version: () => c.version_string(), c};
