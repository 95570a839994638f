'use strict';
// Runs examples/swin_micro.safetensors on examples/input.npy through koffi and checks the
// logits against examples/expected_logits.npy (within 1e-5 * max(1, max|ref|)).
//   SWIN_LIBRARY=build/libswin.so.0 node bindings/node/test.js
const path = require('path');
const swin = require('./swin.js');

const ex = path.join(__dirname, '..', '..', 'examples');
const input = swin.readNpy(path.join(ex, 'input.npy'));
const ref = swin.readNpy(path.join(ex, 'expected_logits.npy'));
const got = swin.run(path.join(ex, 'swin_micro.safetensors'), input.data, input.shape);

let worst = 0, scale = 1;
for (let i = 0; i < ref.data.length; i++) {
    worst = Math.max(worst, Math.abs(got.data[i] - ref.data[i]));
    scale = Math.max(scale, Math.abs(ref.data[i]));
}
const ok = JSON.stringify(got.shape) === JSON.stringify(ref.shape) && worst <= 1e-5 * scale;
console.log(`node ${process.version}, libswin ${swin.version()}: logits [${got.shape}], ` +
            `max |diff| ${worst.toExponential(2)} vs expected: ${ok ? 'ok' : 'FAILED'}`);

// errors carry the status and the message
let err = null;
try {
    swin.run('/nonexistent.safetensors', input.data, input.shape);
} catch (e) {
    err = e;
}
const errOk = err instanceof swin.SwinError && err.message.startsWith('SWIN_ERR_IO: ') &&
              err.message.includes('/nonexistent.safetensors');
console.log(`error path: ${err && err.message} (${errOk ? 'ok' : 'FAILED'})`);
process.exit(ok && errOk ? 0 : 1);
