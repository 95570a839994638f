'use strict';
// Shared by the tests: the package under test (LIBSWIN_NODE, e.g. an npm-installed copy, else
// this folder), the examples folder (SWIN_EXAMPLES, else the repository's) and a .npy reader.
const fs = require('fs');
const path = require('path');

const swin = require(process.env.LIBSWIN_NODE ? path.resolve(process.env.LIBSWIN_NODE) : '..');
const examples = path.resolve(process.env.SWIN_EXAMPLES || path.join(__dirname, '..', '..', '..', 'examples'));

// Minimal .npy reader: little-endian float32, C order (what examples/ holds).
function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
    const major = buf[6];
    const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', start, start + hlen);
    if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
        throw new Error(`${file}: not a C-order little-endian float32 array`);
    const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(buf.subarray(start + hlen, start + hlen + 4 * n)); // copy: may be unaligned
    return {shape, data};
}

function maxDiff(a, b) {
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    return worst;
}

module.exports = {swin, examples, readNpy, maxDiff, path};
