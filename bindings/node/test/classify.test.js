'use strict';
// classify / features on the shapes model and its images (examples/shapes).
const fs = require('fs');
const test = require('node:test');
const assert = require('node:assert/strict');
const {swin, examples, maxDiff, path} = require('./common.js');
const {Model, SwinError} = swin;

const dir = path.join(examples, 'shapes', 'images');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected_top5.json'), 'utf8')).images;
const paths = expected.map(e => path.join(dir, e.file));

test('classify gives the reference top-5 with labels, one result per path', async () => {
    const model = await Model.load(path.join(examples, 'shapes'));
    try {
        const bad = path.join(examples, 'shapes', 'README.md');
        const results = await model.classify([...paths, '/nonexistent.png', bad], {top: 5, batch: 4});
        assert.equal(results.length, paths.length + 2);
        expected.forEach((e, i) => {
            const r = results[i];
            assert.equal(r.path, paths[i]);
            assert.equal(r.error, null);
            assert.equal(r.top.length, 5);
            assert.equal(r.top[0].label, e.top5[0].label, e.file);
            r.top.forEach((t, j) => {
                assert.equal(t.index, e.top5[j].index, `${e.file} #${j}`);
                assert.equal(t.label, e.top5[j].label);
                assert.ok(Math.abs(t.prob - e.top5[j].prob) < 1e-4, `${e.file} #${j}: ${t.prob} vs ${e.top5[j].prob}`);
            });
        });
        const [missing, notImage] = results.slice(paths.length);
        assert.deepEqual(missing.top, []);
        assert.match(missing.error, /^SWIN_ERR_IO: .*nonexistent\.png/);
        assert.deepEqual(notImage.top, []);
        assert.match(notImage.error, /^SWIN_ERR_FORMAT: /);
        const one = await model.classify(paths[0], {top: 1});
        assert.equal(one.length, 1);
        assert.equal(one[0].top.length, 1);
        assert.deepEqual(await model.classify([]), []);
    } finally {
        await model.close();
    }
});

test('features: [N, C] per image, the same whatever the batch; a bad image rejects', async () => {
    const model = await Model.load(path.join(examples, 'shapes'));
    try {
        const a = await model.features(paths, {batch: 3});
        const b = await model.features(paths, {batch: 8});
        assert.equal(a.shape[0], paths.length);
        assert.ok(a.shape[1] > 0);
        assert.equal(a.data.length, a.shape[0] * a.shape[1]);
        assert.ok(maxDiff(a.data, b.data) <= 1e-5);
        await assert.rejects(model.features([paths[0], '/nonexistent.png']), e =>
            e instanceof SwinError && e.statusName === 'SWIN_ERR_IO' && e.message.includes('/nonexistent.png'));
    } finally {
        await model.close();
    }
});
