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

// the token map [B, H*W, C] after the final norm: Swin's features are its mean over tokens
const tok = swin.run(path.join(ex, 'swin_micro.safetensors'), input.data, input.shape, 'tokens');
const feat = swin.run(path.join(ex, 'swin_micro.safetensors'), input.data, input.shape, 'features');
const [B, T, C] = tok.shape;
let tokWorst = 0;
for (let b = 0; b < B; b++)
    for (let ch = 0; ch < C; ch++) {
        let acc = 0;
        for (let t = 0; t < T; t++) acc += tok.data[(b * T + t) * C + ch];
        tokWorst = Math.max(tokWorst, Math.abs(acc / T - feat.data[b * C + ch]));
    }
const tokOk = tok.shape.length === 3 && B === input.shape[0] &&
              JSON.stringify(feat.shape) === JSON.stringify([B, C]) && tokWorst <= 1e-5;
console.log(`tokens [${tok.shape}], mean over tokens vs features max |diff| ` +
            `${tokWorst.toExponential(2)} (${tokOk ? 'ok' : 'FAILED'})`);

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
process.exit(ok && tokOk && errOk ? 0 : 1);
