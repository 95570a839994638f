#!/usr/bin/env node
/* Times one ONNX model with ONNX Runtime's CPU execution provider (npm onnxruntime-node).
 *
 *   node bench/ort_run.js --model M.onnx --input X.f32 --shape 1,3,224,224 \
 *       [--threads T] [--warmup W] [--runs R] [--spin 1|0] [--output Y.f32] [--ort-dir DIR]
 *
 * X.f32 is the input tensor as raw little-endian float32, row-major, of the given shape. The
 * session runs sequentially with intraOpNumThreads=T, interOpNumThreads=1 and every graph
 * optimization (--spin 0: session.intra_op.allow_spinning=0, idle threads do not spin); W
 * untimed runs, then R timed ones. Prints one JSON line:
 *   {"ort_version", "threads", "spin", "runs", "warmup", "batch", "load_ms", "min_ms",
 *    "median_ms", "max_ms", "images_per_s", "peak_rss_mb", "output_shape"}
 * and, with --output, writes the first output of the last run as raw float32. peak_rss_mb is
 * the VmHWM of this process (node, the session and the runs).
 *
 * DIR is the node_modules folder that holds onnxruntime-node (default: $ORT_NODE_MODULES, else
 * /opt/ortbench/node_modules). Install it with
 *   mkdir -p DIR/.. && cd DIR/.. && npm install --ignore-scripts onnxruntime-node
 * (--ignore-scripts skips the CUDA download; the CPU binaries are in the package.)
 * Used by bench/side_by_side.py.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

function parseArgs(argv) {
    const a = {
        threads: 1,
        warmup: 2,
        spin: 1,
        runs: 10,
        ortDir: process.env.ORT_NODE_MODULES || '/opt/ortbench/node_modules',
    };
    const keys = {
        '--model': 'model', '--input': 'input', '--shape': 'shape', '--threads': 'threads',
        '--warmup': 'warmup', '--runs': 'runs', '--output': 'output', '--ort-dir': 'ortDir',
        '--spin': 'spin',
    };
    for (let i = 0; i < argv.length; i += 2) {
        const k = keys[argv[i]];
        if (!k || i + 1 >= argv.length) throw new Error(`bad argument: ${argv[i]}`);
        a[k] = argv[i + 1];
    }
    if (!a.model || !a.input || !a.shape) throw new Error('need --model, --input and --shape');
    a.shape = a.shape.split(',').map(Number);
    for (const k of ['threads', 'warmup', 'runs', 'spin']) a[k] = parseInt(a[k], 10);
    if (!(a.runs >= 1) || !(a.warmup >= 0) || !(a.threads >= 1) ||
        !(a.spin === 0 || a.spin === 1)) {
        throw new Error('need --runs >= 1, --warmup >= 0, --threads >= 1, --spin 0 or 1');
    }
    return a;
}

/* Peak resident set of this process in MB: VmHWM belongs to the address space made at exec, so,
 * unlike getrusage's ru_maxrss, it does not inherit the peak of a large parent process. */
function peakRssMb() {
    try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
        if (m) return Number(m[1]) / 1024;
    } catch (e) { /* not Linux */ }
    return process.resourceUsage().maxRSS / 1024;
}

function loadOrt(dir) {
    const pkg = path.join(dir, 'onnxruntime-node');
    try {
        return require(pkg);
    } catch (e) {
        process.stderr.write(
            `ort_run: cannot load ${pkg}: ${e.message}\n` +
            `Install it with: mkdir -p ${path.dirname(dir)} && cd ${path.dirname(dir)} && ` +
            'npm install --ignore-scripts onnxruntime-node\n' +
            'and pass that node_modules folder with --ort-dir or $ORT_NODE_MODULES.\n');
        process.exit(3);
    }
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    const ort = loadOrt(a.ortDir);
    const numel = a.shape.reduce((x, y) => x * y, 1);
    const raw = fs.readFileSync(a.input);
    if (raw.length !== numel * 4) {
        throw new Error(`${a.input}: ${raw.length} bytes, shape ${a.shape} needs ${numel * 4}`);
    }
    const data = new Float32Array(numel);
    Buffer.from(data.buffer).set(raw); // copy: the file buffer need not be 4-byte aligned

    const t0 = performance.now();
    const session = await ort.InferenceSession.create(a.model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: a.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        // ORT's default lets idle intra-op threads spin; --spin 0 makes them sleep at once
        ...(a.spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    });
    const loadMs = performance.now() - t0;

    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, a.shape) };
    const times = [];
    let out = null;
    for (let i = 0; i < a.warmup + a.runs; i++) {
        const start = performance.now();
        const res = await session.run(feeds);
        const ms = performance.now() - start;
        if (i >= a.warmup) times.push(ms);
        out = res[session.outputNames[0]];
    }
    times.sort((x, y) => x - y);
    const n = times.length;
    const median = n % 2 ? times[(n - 1) / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    if (a.output) {
        const f = out.data; // Float32Array
        fs.writeFileSync(a.output, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    }
    let version = null;
    try {
        version = require(path.join(a.ortDir, 'onnxruntime-node', 'package.json')).version;
    } catch (e) { /* version is informative only */ }
    const r = (x) => Math.round(x * 1000) / 1000;
    console.log(JSON.stringify({
        ort_version: version,
        threads: a.threads,
        spin: a.spin,
        runs: a.runs,
        warmup: a.warmup,
        batch: a.shape[0],
        load_ms: r(loadMs),
        min_ms: r(times[0]),
        median_ms: r(median),
        max_ms: r(times[n - 1]),
        images_per_s: r(a.shape[0] * 1000 / median),
        peak_rss_mb: r(peakRssMb()),
        output_shape: out.dims,
    }));
    await session.release();
}

main().catch((e) => {
    process.stderr.write(`ort_run: error: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
});
