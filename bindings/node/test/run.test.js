'use strict';
// Model.load / run / close on examples/swin_micro.safetensors against examples/*.npy.
const test = require('node:test');
const assert = require('node:assert/strict');
const {swin, examples, readNpy, maxDiff, path} = require('./common.js');
const {Model, SwinError} = swin;

const micro = path.join(examples, 'swin_micro.safetensors');
const input = readNpy(path.join(examples, 'input.npy'));
const ref = readNpy(path.join(examples, 'expected_logits.npy'));
const refFeatures = readNpy(path.join(examples, 'expected_features.npy'));

test('logits and features match the PyTorch reference', async () => {
    const model = await Model.load(micro);
    try {
        const got = await model.run(input.data, input.shape);
        assert.deepEqual(got.shape, ref.shape);
        assert.ok(got.data instanceof Float32Array);
        const scale = Math.max(1, ...Array.from(ref.data, Math.abs));
        assert.ok(maxDiff(got.data, ref.data) <= 1e-5 * scale, `max |diff| ${maxDiff(got.data, ref.data)}`);
        const feat = await model.run(input.data, input.shape, {output: 'features'});
        assert.deepEqual(feat.shape, refFeatures.shape);
        assert.ok(maxDiff(feat.data, refFeatures.data) <= 1e-5 * Math.max(1, ...Array.from(refFeatures.data, Math.abs)));
        // the token map [B, H*W, C] after the final norm: Swin's features are its mean over tokens
        const tok = await model.run(input.data, input.shape, {output: 'tokens'});
        const [B, T, C] = tok.shape;
        assert.equal(B, input.shape[0]);
        assert.deepEqual(feat.shape, [B, C]);
        let worst = 0;
        for (let b = 0; b < B; b++)
            for (let ch = 0; ch < C; ch++) {
                let acc = 0;
                for (let t = 0; t < T; t++) acc += tok.data[(b * T + t) * C + ch];
                worst = Math.max(worst, Math.abs(acc / T - feat.data[b * C + ch]));
            }
        assert.ok(worst <= 1e-5, `tokens vs features max |diff| ${worst}`);
    } finally {
        await model.close();
    }
});

test('options are passed to swin_options_set', async () => {
    await assert.rejects(Model.load(micro, {no_such_option: '1'}), e => e instanceof SwinError && e.statusName === 'SWIN_ERR_CONFIG');
    await assert.rejects(Model.load(micro, 'arch=x'), TypeError);
});

test('failures are SwinErrors with status and libswin\'s message', async () => {
    await assert.rejects(Model.load('/nonexistent.safetensors'), e =>
        e instanceof SwinError && e.status === 3 && e.statusName === 'SWIN_ERR_IO' &&
        e.message.startsWith('SWIN_ERR_IO: ') && e.message.includes('/nonexistent.safetensors'));
    const model = await Model.load(micro);
    const [b, ch, h, w] = input.shape;
    // a failed async run: the message is libswin's, not an empty one
    await assert.rejects(model.run(new Float32Array(b * ch * (h + 1) * w), [b, ch, h + 1, w]), e =>
        e instanceof SwinError && e.statusName === 'SWIN_ERR_INPUT_SIZE' && e.message.length > 'SWIN_ERR_INPUT_SIZE: '.length + 5);
    await assert.rejects(model.run(input.data, [b, ch, h, w + 1]), RangeError); // wrong length
    await model.close();
});

test('arguments out of their C type\'s range, non-integers and NULs are refused', async () => {
    const model = await Model.load(micro);
    const [b, ch, h, w] = input.shape;
    const run = (shape, opts) => model.run(input.data, shape, opts);
    const refused = [
        ['index 2**32', () => run(input.shape, {output: 'stage', index: 2 ** 32}), RangeError],
        ['index 2**31', () => run(input.shape, {output: 'stage', index: 2 ** 31}), RangeError],
        ['index -(2**31)-1', () => run(input.shape, {output: 'stage', index: -(2 ** 31) - 1}), RangeError],
        ['index 2n**32n', () => run(input.shape, {output: 'stage', index: 2n ** 32n}), RangeError],
        ['index 0.5', () => run(input.shape, {output: 'stage', index: 0.5}), RangeError],
        ['index NaN', () => run(input.shape, {output: 'stage', index: NaN}), RangeError],
        ['index Infinity', () => run(input.shape, {output: 'stage', index: Infinity}), RangeError],
        ['index "1"', () => run(input.shape, {output: 'stage', index: '1'}), TypeError],
        ['kind 2**32', () => run(input.shape, {output: 2 ** 32}), RangeError],
        ['kind 1.5', () => run(input.shape, {output: 1.5}), RangeError],
        ['kind "toString"', () => run(input.shape, {output: 'toString'}), RangeError],
        ['shape 2n**64n+2n', () => run([2n ** 64n + 2n, ch, h, w]), RangeError],
        ['shape 2n**63n', () => run([2n ** 63n, ch, h, w]), RangeError],
        ['shape 2**64+2', () => run([2 ** 64 + 2, ch, h, w]), RangeError],
        ['shape 2**53', () => run([2 ** 53, ch, h, w]), RangeError],
        ['shape 2.5', () => run([2.5, ch, h, w]), RangeError],
        ['shape NaN', () => run([NaN, ch, h, w]), RangeError],
        ['shape "2"', () => run(['2', ch, h, w]), TypeError],
        ['shape not an array', () => run(4), TypeError],
        ['input not a Float32Array', () => model.run(Array.from(input.data), input.shape), TypeError],
        ['path with \\u0000', () => Model.load(micro + '\u0000.other'), TypeError],
        ['path not a string', () => Model.load(42), TypeError],
        ['option with \\u0000', () => Model.load(micro, {arch: 'swin\u0000x'}), TypeError],
        ['classify path with \\u0000', () => model.classify(['a.png\u0000b']), TypeError],
        ['classify top 0', () => model.classify([], {top: 0}), RangeError],
        // in range, the library decides
        ['index 2**31-1', () => run(input.shape, {output: 'stage', index: 2 ** 31 - 1}), SwinError],
        ['shape -2', () => run([-2, ch, h, w]), SwinError],
    ];
    for (const [what, call, Type] of refused)
        await assert.rejects(call, e => e instanceof Type, what);
    // integers given as BigInts or exact Numbers still run
    const big = await run([BigInt(b), BigInt(ch), BigInt(h), BigInt(w)], {output: 'stage', index: 1n});
    const small = await run(input.shape, {output: 2, index: 1});
    assert.deepEqual(big.shape, small.shape);
    assert.deepEqual(big.data, small.data);
    await model.close();
});

test('the event loop keeps running during a run', async () => {
    const model = await Model.load(micro);
    try {
        const [, ch, h, w] = input.shape;
        const B = 256; // long enough to see the timer fire many times
        const x = new Float32Array(B * ch * h * w);
        for (let i = 0; i < x.length; i++) x[i] = input.data[i % input.data.length];
        let ticks = 0;
        const timer = setInterval(() => ticks++, 1);
        const t0 = process.hrtime.bigint();
        const out = await model.run(x, [B, ch, h, w]);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        clearInterval(timer);
        assert.deepEqual(out.shape, [B, ref.shape[1]]);
        assert.ok(ms >= 20, `the run took only ${ms.toFixed(1)} ms: too short to tell`);
        assert.ok(ticks >= Math.min(10, ms / 10), `${ticks} timer ticks during a ${ms.toFixed(0)} ms run`);
    } finally {
        await model.close();
    }
});

test('concurrent calls on one model each get a context and the same answers', async () => {
    const model = await Model.load(micro);
    const outs = await Promise.all(Array.from({length: 8}, () => model.run(input.data, input.shape)));
    for (const o of outs) assert.deepEqual(o.data, outs[0].data);
    await model.close();
});

test('close is idempotent, lets calls in flight finish and refuses later ones', async () => {
    const model = await Model.load(micro);
    const inFlight = Promise.all(Array.from({length: 4}, () => model.run(input.data, input.shape)));
    const closing = model.close();
    assert.equal(model.close(), closing);
    assert.ok(model.closed);
    const outs = await inFlight; // completed normally
    assert.deepEqual(outs[0].shape, ref.shape);
    await closing;
    await assert.rejects(model.run(input.data, input.shape), e => e instanceof SwinError && /closed/.test(e.message));
    await assert.rejects(model.classify([path.join(examples, 'shapes', 'images', 'img01.png')]), SwinError);
    await assert.rejects(model.features([]), SwinError);
    await model.close();
    assert.match(swin.version(), /^\d+\.\d+\.\d+/);
});
