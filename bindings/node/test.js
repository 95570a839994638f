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

// Arguments out of their C type's range, non-integers, and strings with a NUL are refused
// before they reach C (koffi would wrap 2**32 to 0, truncate 1.5 to 1 and turn NaN into 0;
// BigInt64Array wraps 2n**64n + 2n to 2; C reads a path up to its first NUL).
const micro = path.join(ex, 'swin_micro.safetensors');
const [b, ch, h, w] = input.shape;
const refused = [
    // [what, the call, the error it must throw]
    ['index 2**32', () => swin.run(micro, input.data, input.shape, 'stage', 2 ** 32), RangeError],
    ['index 2**31', () => swin.run(micro, input.data, input.shape, 'stage', 2 ** 31), RangeError],
    ['index -(2**31)-1', () => swin.run(micro, input.data, input.shape, 'stage', -(2 ** 31) - 1), RangeError],
    ['index 2n**32n', () => swin.run(micro, input.data, input.shape, 'stage', 2n ** 32n), RangeError],
    ['index 0.5', () => swin.run(micro, input.data, input.shape, 'stage', 0.5), RangeError],
    ['index NaN', () => swin.run(micro, input.data, input.shape, 'stage', NaN), RangeError],
    ['index Infinity', () => swin.run(micro, input.data, input.shape, 'stage', Infinity), RangeError],
    ['index "1"', () => swin.run(micro, input.data, input.shape, 'stage', '1'), TypeError],
    ['kind 2**32', () => swin.run(micro, input.data, input.shape, 2 ** 32), RangeError],
    ['kind 1.5', () => swin.run(micro, input.data, input.shape, 1.5), RangeError],
    ['kind "toString"', () => swin.run(micro, input.data, input.shape, 'toString'), RangeError],
    ['shape 2n**64n+2n', () => swin.run(micro, input.data, [2n ** 64n + 2n, ch, h, w]), RangeError],
    ['shape 2n**63n', () => swin.run(micro, input.data, [2n ** 63n, ch, h, w]), RangeError],
    ['shape 2**64+2', () => swin.run(micro, input.data, [2 ** 64 + 2, ch, h, w]), RangeError],
    ['shape 2**53', () => swin.run(micro, input.data, [2 ** 53, ch, h, w]), RangeError],
    ['shape 2.5', () => swin.run(micro, input.data, [2.5, ch, h, w]), RangeError],
    ['shape NaN', () => swin.run(micro, input.data, [NaN, ch, h, w]), RangeError],
    ['shape "2"', () => swin.run(micro, input.data, ['2', ch, h, w]), TypeError],
    ['shape not an array', () => swin.run(micro, input.data, 4), TypeError],
    ['path with \\u0000', () => swin.run(micro + '\u0000.other', input.data, input.shape), TypeError],
    ['path not a string', () => swin.run(42, input.data, input.shape), TypeError],
    // in range, the library decides
    ['index 2**31-1', () => swin.run(micro, input.data, input.shape, 'stage', 2 ** 31 - 1), swin.SwinError],
    ['shape -2', () => swin.run(micro, input.data, [-2, ch, h, w]), swin.SwinError],
];
let argsOk = true;
for (const [what, call, Type] of refused) {
    let e = null;
    try {
        call();
    } catch (x) {
        e = x;
    }
    if (!(e instanceof Type)) {
        argsOk = false;
        console.log(`  ${what}: expected ${Type.name}, got ${e ? `${e.constructor.name}: ${e.message}` : 'a result'}`);
    }
}
// integers given as BigInts or exact Numbers still run
const big = swin.run(micro, input.data, [BigInt(b), BigInt(ch), BigInt(h), BigInt(w)], 'stage', 1n);
const small = swin.run(micro, input.data, input.shape, 2, 1);
argsOk = argsOk && JSON.stringify(big.shape) === JSON.stringify(small.shape) &&
         big.data.every((v, i) => v === small.data[i]);
console.log(`arguments: ${refused.length} out-of-range, non-integer or NUL cases refused ` +
            `(${argsOk ? 'ok' : 'FAILED'})`);
process.exit(ok && tokOk && errOk && argsOk ? 0 : 1);
