'use strict';
// libswin for Node through koffi: the C ABI only (opaque handles, int statuses, float pointers),
// no macros and no struct layouts (docs/ffi.md). The library is SWIN_LIBRARY, else the installed
// libswin.so.0.
//
// Threads: the heavy calls (loading a model, decoding and preprocessing an image, running a
// batch) are koffi async calls, run on libuv's worker threads, so the event loop stays free.
// A Model owns one C model and a pool of C contexts: each call in flight takes a context of its
// own (a context is never used by two threads at once) and gives it back when it is done.
// close() refuses new calls at once and frees the contexts and the model once the calls in
// flight have finished.
// libswin's message is thread-local, so after a failed async call the main thread cannot read
// it; the failing call is repeated synchronously to read it (failures are early: opening or
// parsing a file, a bad shape, a corrupt image).
const koffi = require('koffi');

// libswin runs OpenBLAS single-threaded; without this, OpenBLAS starts an idle thread pool
// whose threads wait forever for their work buffers under an address-space limit
// (docs/security.md). An explicit value is kept.
if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';
const lib = koffi.load(process.env.SWIN_LIBRARY || 'libswin.so.0');

for (const name of ['swin_model', 'swin_context', 'swin_tensor', 'swin_options', 'swin_image'])
    koffi.opaque(name);

const c = {
    last_error: lib.func('const char *swin_last_error(void)'),
    clear_error: lib.func('void swin_clear_error(void)'),
    status_string: lib.func('const char *swin_status_string(int status)'),
    version_string: lib.func('const char *swin_version_string(void)'),
    options_create: lib.func('int swin_options_create(_Out_ swin_options **out)'),
    options_set: lib.func('int swin_options_set(swin_options *opts, const char *key, const char *value)'),
    options_free: lib.func('void swin_options_free(swin_options *opts)'),
    model_load_file: lib.func(
        'int swin_model_load_file(_Out_ swin_model **out, const char *path, const swin_options *opts)'),
    model_free: lib.func('void swin_model_free(swin_model *model)'),
    model_get: lib.func('const char *swin_model_get(const swin_model *model, const char *key)'),
    model_label: lib.func('const char *swin_model_label(const swin_model *model, int64_t index)'),
    model_input_size: lib.func('int64_t swin_model_input_size(const swin_model *model)'),
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
    context_topk: lib.func(
        'int swin_context_topk(swin_context *ctx, int64_t batch_index, int64_t k, _Out_ int64_t *classes, _Out_ float *probs)'),
    image_load_file: lib.func('int swin_image_load_file(_Out_ swin_image **out, const char *path)'),
    image_preprocess: lib.func(
        'int swin_image_preprocess(const swin_image *image, const swin_model *model, swin_tensor *batch, int64_t index)'),
    image_free: lib.func('void swin_image_free(swin_image *image)'),
};

// swin_output: the outputs of a pass. tokens: the token map [B, T, C] after the final norm
// (ViT: prefix tokens first; Swin: [B, H*W, C]); pooler: transformers ViTModel's pooler.
const OUTPUTS = Object.freeze({logits: 0, features: 1, stage: 2, pooler: 3, tokens: 4});
const SWIN_ERR_INVALID_ARGUMENT = 1;

// A failure of libswin (or a call on a closed model): status is the swin_status number and
// statusName its name ("SWIN_ERR_IO"); the message is "SWIN_ERR_IO: <libswin's message>".
class SwinError extends Error {
    constructor(status, detail) {
        const name = c.status_string(status);
        super(`${name}: ${detail === undefined ? c.last_error() : detail}`);
        this.name = 'SwinError';
        this.status = status;
        this.statusName = name;
    }
}

function check(status) {
    if (status !== 0) throw new SwinError(status);
}

// A koffi async call as a promise of its status; on failure, `again` repeats the call
// synchronously on this thread to read libswin's thread-local message (see the top).
function callAsync(fn, args, again) {
    return new Promise((resolve, reject) => {
        fn.async(...args, (err, status) => {
            if (err) return reject(err);
            if (status === 0) return resolve();
            c.clear_error();
            const status2 = again();
            reject(new SwinError(status, status2 === status ? c.last_error() : '(message lost: the call failed on a worker thread)'));
        });
    });
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

function positive(value, what) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, not ${value}`);
    return value;
}

function pathList(paths) {
    if (typeof paths === 'string') paths = [paths];
    if (!Array.isArray(paths)) throw new TypeError('paths must be an array of strings');
    return paths.map((p, i) => cString(p, `paths[${i}]`));
}

// A libswin tensor [dims] filled from `data`, or zeroed. Allocated by libswin
// (swin_tensor_create) and written through a view of its memory: a pointer into a JS array is
// only valid for one synchronous call, and the async run reads it later (docs/ffi.md).
function newTensor(shape64, data) {
    const t = [null];
    check(c.tensor_create(t, shape64.length, shape64));
    if (data !== undefined) {
        const n = Number(c.tensor_numel(t[0]));
        if (n !== data.length) {
            c.tensor_free(t[0]);
            throw new RangeError(`input has ${data.length} floats, shape needs ${n}`);
        }
        new Float32Array(koffi.view(c.tensor_data(t[0]), 4 * n)).set(data);
    }
    return t[0];
}

function copyOut(tensor) { // {shape, data}: a copy of a tensor the context owns
    const shape = [];
    for (let i = 0; i < c.tensor_ndim(tensor); i++) shape.push(Number(c.tensor_dim(tensor, i)));
    const n = Number(c.tensor_numel(tensor));
    return {shape, data: Float32Array.from(koffi.decode(c.tensor_data(tensor), 'float', n))};
}

function outputKind(kind) {
    const k = typeof kind === 'string' ? (Object.hasOwn(OUTPUTS, kind) ? OUTPUTS[kind] : undefined)
                                       : cInt(kind, 'output kind');
    if (k === undefined) throw new RangeError(`unknown output ${kind}: one of ${Object.keys(OUTPUTS)}`);
    return k;
}

class Model {
    // Use Model.load().
    constructor(handle, path) {
        this._model = handle;
        this.path = path;
        this._idle = [];        // contexts not in use
        this._all = [];         // every context made
        this._inFlight = 0;
        this._closed = false;
        this._closing = null;   // close()'s promise
        this.numClasses = Number(c.model_num_classes(handle));
        this.inputSize = Number(c.model_input_size(handle));
    }

    // Loads a .safetensors file or a hub folder off the event loop. opts: {key: value} set
    // with swin_options_set (values are turned into strings), e.g. {arch: 'swin_tiny_patch4_window7_224'}.
    static async load(path, opts = {}) {
        cString(path, 'model path');
        if (opts === null || typeof opts !== 'object') throw new TypeError('opts must be an object of key: value strings');
        const options = [null];
        check(c.options_create(options));
        try {
            for (const [key, value] of Object.entries(opts))
                check(c.options_set(options[0], cString(key, 'option key'), cString(String(value), `option ${key}`)));
            const out = [null];
            await callAsync(c.model_load_file, [out, path, options[0]], () => {
                const again = [null];
                const s = c.model_load_file(again, path, options[0]);
                c.model_free(again[0]);
                return s;
            });
            return new Model(out[0], path);
        } finally {
            c.options_free(options[0]);
        }
    }

    get closed() { return this._closed; }

    // A config value of the model (swin_model_get: "arch", "family", "naming", ...), or null.
    get(key) {
        this._check();
        return c.model_get(this._model, cString(key, 'key'));
    }

    label(index) {
        this._check();
        return c.model_label(this._model, cInt64(index, 'index'));
    }

    // Runs a float32 NCHW batch. shape: integers (Numbers up to 2^53, or BigInts). opts.output:
    // a name of OUTPUTS ('logits', the default, 'features', 'tokens', 'pooler', 'stage') or its
    // number; opts.index: the stage of 'stage'. Resolves to {shape, data} (a copy).
    async run(input, shape, opts = {}) {
        const k = outputKind(opts.output === undefined ? 'logits' : opts.output);
        const index = cInt(opts.index === undefined ? 0 : opts.index, 'index');
        if (!(input instanceof Float32Array)) throw new TypeError('input must be a Float32Array');
        if (!Array.isArray(shape) && !ArrayBuffer.isView(shape))
            throw new TypeError('shape must be an array of integers');
        const shape64 = BigInt64Array.from(shape, (d, i) => cInt64(d, `shape[${i}]`));
        cInt(shape.length, 'ndim');
        return this._withContext(async ctx => {
            const tensor = newTensor(shape64, input);
            try {
                await this._run(ctx, tensor);
                return this._output(ctx, k, index);
            } finally {
                c.tensor_free(tensor);
            }
        });
    }

    // Classifies image files (JPEG, PNG), `batch` at a time. Resolves to one result per path,
    // in order: {path, top: [{index, label, prob}], error}. An image that cannot be read has
    // error set to libswin's message and top []; it does not reject the call.
    async classify(paths, {top = 5, batch = 8} = {}) {
        positive(top, 'top');
        positive(batch, 'batch');
        paths = pathList(paths);
        this._check();
        if (this.numClasses === 0) throw new SwinError(SWIN_ERR_INVALID_ARGUMENT, 'the model has no classifier head');
        const k = Math.min(top, this.numClasses);
        const results = paths.map(path => ({path, top: [], error: null}));
        await this._batches(paths, batch, async (ctx, ok) => {
            const classes = new BigInt64Array(k), probs = new Float32Array(k);
            for (let b = 0; b < ok.length; b++) {
                check(c.context_topk(ctx, b, k, classes, probs));
                results[ok[b]].top = Array.from(classes, (cls, j) => ({
                    index: Number(cls), label: c.model_label(this._model, cls) ?? `class ${cls}`, prob: probs[j]}));
            }
        }, (i, err) => { results[i].error = err.message; });
        return results;
    }

    // Pooled features of image files, `batch` at a time: {shape: [N, C], data}. An image that
    // cannot be read rejects the call with its SwinError (the message names the file).
    async features(paths, {batch = 8} = {}) {
        positive(batch, 'batch');
        paths = pathList(paths);
        this._check();
        let rows = null, width = 0;
        await this._batches(paths, batch, async (ctx, ok) => {
            const f = this._output(ctx, OUTPUTS.features, 0);
            if (rows === null) {
                width = f.shape[1];
                rows = new Float32Array(paths.length * width);
            }
            for (let b = 0; b < ok.length; b++)
                rows.set(f.data.subarray(b * width, (b + 1) * width), ok[b] * width);
        }, (i, err) => { throw err; });
        return {shape: [paths.length, width], data: rows ?? new Float32Array(0)};
    }

    // Refuses new calls at once (they reject with a SwinError); frees the C contexts and model
    // when the calls in flight have finished (they complete normally). Idempotent; the promise
    // resolves once everything is freed.
    close() {
        if (this._closing === null) {
            this._closed = true;
            this._closing = new Promise(resolve => { this._onIdle = resolve; });
            this._maybeFree();
        }
        return this._closing;
    }

    _check() {
        if (this._closed) throw new SwinError(SWIN_ERR_INVALID_ARGUMENT, `model ${this.path} is closed`);
    }

    _maybeFree() {
        if (!this._closed || this._inFlight > 0 || this._model === null) return;
        for (const ctx of this._all) c.context_free(ctx);
        this._all = this._idle = [];
        c.model_free(this._model);
        this._model = null;
        this._onIdle();
    }

    // Runs fn(ctx) with a context of its own; close() waits for it.
    async _withContext(fn) {
        this._check();
        this._inFlight++;
        try {
            let ctx = this._idle.pop();
            if (ctx === undefined) {
                const out = [null];
                check(c.context_create(out, this._model));
                ctx = out[0];
                this._all.push(ctx);
            }
            try {
                return await fn(ctx);
            } finally {
                this._idle.push(ctx);
            }
        } finally {
            this._inFlight--;
            this._maybeFree();
        }
    }

    _run(ctx, tensor) {
        // the message of a failed run: run again here (a run fails before it computes anything)
        return callAsync(c.context_run, [ctx, tensor], () => c.context_run(ctx, tensor));
    }

    _output(ctx, kind, index) {
        const out = [null];
        check(c.context_output(ctx, kind, index, out));
        return copyOut(out[0]);
    }

    // Decodes and preprocesses paths `batch` at a time into [n, 3, S, S], runs each batch and
    // calls onBatch(ctx, indices of the images in it); onError(i, SwinError) for each image
    // that could not be read.
    async _batches(paths, batch, onBatch, onError) {
        const S = BigInt(this.inputSize);
        await this._withContext(async ctx => {
            for (let start = 0; start < paths.length; start += batch) {
                const idx = paths.slice(start, start + batch).map((_, j) => start + j);
                const settled = await Promise.allSettled(idx.map(i => loadImage(paths[i])));
                const ok = idx.filter((_, j) => settled[j].status === 'fulfilled');
                const loaded = settled.filter(r => r.status === 'fulfilled').map(r => r.value);
                try {
                    settled.forEach((r, j) => {
                        if (r.status === 'rejected') {
                            if (!(r.reason instanceof SwinError)) throw r.reason;
                            onError(idx[j], r.reason);
                        }
                    });
                    if (ok.length === 0) continue;
                    const tensor = newTensor(BigInt64Array.of(BigInt(ok.length), 3n, S, S));
                    try {
                        // one batch, so one slot at a time (preprocess is thread-safe for
                        // different batches)
                        for (let b = 0; b < loaded.length; b++) {
                            const img = loaded[b], model = this._model;
                            try {
                                await callAsync(c.image_preprocess, [img, model, tensor, b],
                                                () => c.image_preprocess(img, model, tensor, b));
                            } catch (err) {
                                if (err instanceof SwinError) err.message = `${paths[ok[b]]}: ${err.message}`;
                                throw err;
                            }
                        }
                        await this._run(ctx, tensor);
                        await onBatch(ctx, ok);
                    } finally {
                        c.tensor_free(tensor);
                    }
                } finally {
                    for (const img of loaded) c.image_free(img);
                }
            }
        });
    }
}

async function loadImage(path) {
    const out = [null];
    try {
        await callAsync(c.image_load_file, [out, path], () => {
            const again = [null];
            const s = c.image_load_file(again, path);
            c.image_free(again[0]);
            return s;
        });
    } catch (err) {
        if (err instanceof SwinError && !err.message.includes(path)) err.message += ` (${path})`;
        throw err;
    }
    return out[0];
}

module.exports = {Model, SwinError, OUTPUTS, version: () => c.version_string(), c};
