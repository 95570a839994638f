"""Tests of the Python package against the C library's own results.

Run (Debian's python3-numpy; the library named by SWIN_LIBRARY, else the installed one):
    SWIN_LIBRARY=build/libswin.so.0 SWIN_CLI=build/swin \
        /usr/bin/python3 -m unittest discover -s bindings/python/tests -v
The package imported is bindings/python's, unless SWIN_TEST_INSTALLED=1 (then the installed
one: CI's venv).
SWIN_CLI (else `swin` on PATH) is the C program the results are compared with.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

if not os.environ.get("SWIN_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libswin  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples")
MICRO = os.path.join(EXAMPLES, "swin_micro.safetensors")
INPUT = os.path.join(EXAMPLES, "input.npy")
SHAPES = os.path.join(EXAMPLES, "shapes")
IMAGES = os.path.join(SHAPES, "images")
CLI = os.environ.get("SWIN_CLI") or shutil.which("swin")


def assert_close(test, got, ref):
    """Within 1e-5 * max(1, max|ref|), as the C tests compare logits."""
    test.assertEqual(got.shape, ref.shape)
    tol = 1e-5 * max(1.0, float(np.abs(ref).max()))
    worst = float(np.abs(got.astype(np.float64) - ref).max())
    test.assertLessEqual(worst, tol, "max |diff| %g > %g" % (worst, tol))


class TestModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = libswin.Model(MICRO)
        cls.x = np.load(INPUT)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_logits_match_expected(self):
        assert_close(self, self.model.run(self.x), np.load(os.path.join(EXAMPLES, "expected_logits.npy")))

    def test_features_and_stage_maps(self):
        with self.model.context() as ctx:
            ctx.run(self.x)
            assert_close(self, ctx.features(), np.load(os.path.join(EXAMPLES, "expected_features.npy")))
            maps = ctx.stages()
            self.assertEqual(len(maps), self.model.num_stages)
            for i, m in enumerate(maps):
                d = self.model.stage_dims(i)
                self.assertEqual(m.shape, (self.x.shape[0], d["height"], d["width"], d["channels"]))
                self.assertEqual(m.dtype, np.float32)
            # outputs are copies: a second run does not change arrays already returned
            logits = ctx.logits()
            ctx.run(np.zeros_like(self.x))
            assert_close(self, logits, np.load(os.path.join(EXAMPLES, "expected_logits.npy")))

    def test_context_threads(self):
        want = np.load(os.path.join(EXAMPLES, "expected_logits.npy"))
        for t in (1, 2, 3):
            with libswin.Context(self.model, threads=t) as ctx:
                ctx.run(self.x)
                assert_close(self, ctx.logits(), want)
        with libswin.Context(self.model) as ctx, self.assertRaises(libswin.SwinError) as cm:
            ctx.set_num_threads(-1)
        self.assertEqual(cm.exception.status, libswin.Status.ERR_INVALID_ARGUMENT)

    def test_input_conversions(self):
        ref = self.model.run(self.x)
        np.testing.assert_array_equal(self.model.run(self.x.astype(np.float64)), ref)
        fortran = np.asfortranarray(self.x)
        np.testing.assert_array_equal(self.model.run(fortran), ref)
        np.testing.assert_array_equal(self.model.run(self.x[::-1][::-1]), ref)

    def test_matches_the_cli(self):
        if not CLI:
            self.skipTest("no swin program (set SWIN_CLI)")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "logits.npy")
            subprocess.run([CLI, "run", "--model", MICRO, "--input", INPUT, "--output", out],
                           check=True)
            np.testing.assert_array_equal(self.model.run(self.x), np.load(out))

    def test_info(self):
        m = self.model
        info = m.info
        self.assertEqual(info["family"], "swin")
        self.assertEqual(info["naming"], "timm")
        self.assertEqual(info["depths"], "2,2,2")
        self.assertEqual(m.num_classes, 10)
        self.assertEqual(m.num_stages, 3)
        self.assertEqual(m.num_params, 105430)
        self.assertEqual(m.input_size, 112)
        self.assertIsNone(m.get("no_such_key"))
        total, total_global = m.flops()
        self.assertGreater(total_global, total)
        self.assertLess(sum(m.flops(s)[0] for s in range(m.num_stages)), total)
        self.assertEqual(m.stage_dims(0), dict(depth=2, heads=2, channels=16, height=28,
                                               width=28, window=7))
        tensors = m.tensors()
        self.assertEqual(len(tensors), 92)
        self.assertEqual(tensors[0], ("patch_embed.proj.weight", "F32", (16, 3, 4, 4)))

    def test_options_and_memory(self):
        with open(MICRO, "rb") as f:
            data = f.read()
        with libswin.Model.from_bytes(data, options={"arch": "swin", "depths": [2, 2, 2]}) as m:
            assert_close(self, m.run(self.x), np.load(os.path.join(EXAMPLES, "expected_logits.npy")))

    def test_threads_share_a_model(self):
        ref = self.model.run(self.x)
        results = [None] * 4

        def work(i):
            with self.model.context() as ctx:
                for _ in range(3):
                    results[i] = ctx.run(self.x).logits()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            np.testing.assert_array_equal(r, ref)

    def test_close_frees_contexts(self):
        m = libswin.Model(MICRO)
        ctx = m.context()
        m.close()
        m.close()
        with self.assertRaises(libswin.SwinError):
            ctx.run(self.x)
        with self.assertRaises(libswin.SwinError):
            m.num_classes


class TestCloseWhileRunning(unittest.TestCase):
    """close() while other threads are inside calls: it waits for the calls in flight (they
    complete), later calls raise SwinError, and no memory in use is freed (issue: segfault /
    heap-use-after-free in swin_context_free from Model.close)."""

    ROUNDS = 50

    @classmethod
    def setUpClass(cls):
        cls.x = np.load(INPUT)
        cls.ref = np.load(os.path.join(EXAMPLES, "expected_logits.npy"))

    def _race(self, work, close, i):
        """Runs work() in a thread until it raises; close() meanwhile. Returns what it raised."""
        started, raised = threading.Event(), []

        def loop():
            try:
                while True:
                    work()
                    started.set()
            except BaseException as e:  # anything but SwinError fails the test below
                raised.append(e)
            finally:
                started.set()

        t = threading.Thread(target=loop)
        t.start()
        started.wait(5)
        time.sleep(0.0003 * (i % 4))  # close at different points of a run
        close()
        t.join(10)
        self.assertFalse(t.is_alive(), "the running thread did not stop")
        self.assertEqual(len(raised), 1)
        self.assertIsInstance(raised[0], libswin.SwinError)
        self.assertEqual(raised[0].status, libswin.Status.ERR_INVALID_ARGUMENT)
        self.assertIn("closed", raised[0].message)

    def test_model_close_while_a_context_runs(self):
        for i in range(self.ROUNDS):
            m = libswin.Model(MICRO)
            ctx = libswin.Context(m, threads=2)
            out = []
            self._race(lambda: out.append(ctx.run(self.x).logits()), m.close, i)
            for logits in out:  # every run that completed gave the right answer
                assert_close(self, logits, self.ref)
            for call in (lambda: ctx.run(self.x), ctx.logits, lambda: ctx.reserve(1, 112, 112),
                         lambda: m.num_classes, lambda: m.run(self.x), m.context):
                with self.assertRaises(libswin.SwinError):
                    call()
            m.close()
            ctx.close()

    def test_context_close_while_it_runs(self):
        with libswin.Model(MICRO) as m:
            for i in range(self.ROUNDS):
                ctx = libswin.Context(m, threads=2)
                self._race(lambda: ctx.run(self.x).logits(), ctx.close, i)
                with self.assertRaises(libswin.SwinError):
                    ctx.run(self.x)
                ctx.close()
            assert_close(self, m.run(self.x), self.ref)  # the model is still open

    def test_model_close_while_model_calls_run(self):
        for i in range(self.ROUNDS):
            m = libswin.Model(MICRO)

            def work():
                m.run(self.x)
                m.info, m.label(0), m.tensors(), m.flops(), m.get("depths")
            self._race(work, m.close, i)

    def test_one_context_two_threads(self):
        """Calls on one Context are serialized by the binding (the C rule: one thread at a time)."""
        with libswin.Model(MICRO) as m, libswin.Context(m, threads=1) as ctx:
            results = []

            def work():
                for _ in range(20):
                    results.append(ctx.run(self.x).logits())
            threads = [threading.Thread(target=work) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(len(results), 60)
            for r in results:
                assert_close(self, r, self.ref)


class TestArgumentRanges(unittest.TestCase):
    """Integers outside their C type's range raise ValueError (ctypes would wrap 2**32 to 0:
    stage 0, label 1, one thread, batch 1), non-integers TypeError, and a string or path with a
    NUL character ValueError (C would read it cut short: another file, another key)."""

    @classmethod
    def setUpClass(cls):
        cls.model = libswin.Model(SHAPES)  # it has labels
        cls.x = np.zeros((1, 3, 64, 64), np.float32)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_int(self):  # C int: stages, indices, threads
        m = self.model
        with m.context() as ctx:
            ctx.run(self.x)
            for big in (2**31, 2**32, 2**32 + 1, 2**64 + 1, -2**31 - 1, -2**32):
                for call in (lambda: ctx.stage(big), lambda: ctx.output("logits", big),
                             lambda: m.run(self.x, "stage", big), lambda: m.flops(big),
                             lambda: m.stage_dims(big), lambda: ctx.set_num_threads(big),
                             lambda: libswin.Context(m, threads=big),
                             lambda: libswin.set_num_threads(big)):
                    with self.assertRaises(ValueError):
                        call()
            # in range, the library decides
            with self.assertRaises(libswin.SwinError):
                ctx.stage(2**31 - 1)
            with self.assertRaises(libswin.SwinError):
                m.stage_dims(-2**31)
            with self.assertRaises(libswin.SwinError):
                libswin.Context(m, threads=1025)
            self.assertEqual(ctx.stage(m.num_stages - 1).shape[0], 1)  # still runs

    def test_int64(self):  # int64_t: labels, reserve
        m = self.model
        for big in (2**63, 2**64 + 1, -2**63 - 1):
            with self.assertRaises(ValueError):
                m.label(big)
            with m.context() as ctx:
                for dims in ((big, 64, 64), (1, big, 64), (1, 64, big)):
                    with self.assertRaises(ValueError):
                        ctx.reserve(*dims)
                self.assertEqual(ctx.memory_bytes, 0)  # nothing was planned
        self.assertEqual(m.label(1), "square")
        self.assertIsNone(m.label(2**63 - 1))
        self.assertIsNone(m.label(-2**63))
        with m.context() as ctx, self.assertRaises(libswin.SwinError):
            ctx.reserve(-1, 64, 64)

    def test_not_integers(self):
        m = self.model
        with m.context() as ctx:
            ctx.run(self.x)
            for call in (lambda: ctx.stage(1.5), lambda: m.label(0.5), lambda: m.flops(0.9),
                         lambda: ctx.reserve(1.0, 64, 64), lambda: libswin.Context(m, threads=2.5),
                         lambda: libswin.set_num_threads("2")):
                with self.assertRaises(TypeError):
                    call()
            self.assertEqual(ctx.stage(np.int64(0)).shape[0], 1)  # NumPy integers are integers
        for top, batch in ((0, 8), (-1, 8), (5, 0)):
            with self.assertRaises(ValueError):
                m.classify(IMAGES, top=top, batch=batch)

    def test_nul_in_strings(self):
        m = self.model
        image = os.path.join(IMAGES, "img02.jpg")
        with open(MICRO, "rb") as f:
            data = f.read()
        for call in (lambda: libswin.Model(MICRO + "\0.other"),
                     lambda: libswin.Model(os.fsencode(MICRO) + b"\0"),
                     lambda: libswin.Model(SHAPES + "\0/x"),
                     lambda: libswin.Model(MICRO, options={"arch\0": "swin"}),
                     lambda: libswin.Model(MICRO, options={"arch": "swin\0vit"}),
                     lambda: libswin.Model(MICRO, options={"depths": ["2\0", 2, 2]}),
                     lambda: libswin.Model.from_bytes(data, options={"arch": "swin\0"}),
                     lambda: m.get("num_classes\0junk"),
                     lambda: m.preprocess(image + "\0"),
                     lambda: m.classify([image + "\0"], errors="raise"),
                     lambda: libswin.load_image(image + "\0x")):
            with self.assertRaises(ValueError):
                call()
        r = m.classify([image + "\0"])[0]
        self.assertEqual(r["top"], [])
        self.assertIn("NUL", r["error"])
        self.assertIsNotNone(m.get("mean"))
        self.assertEqual(libswin.load_image(image).ndim, 3)


class TestErrors(unittest.TestCase):
    def test_missing_file(self):
        with self.assertRaises(libswin.SwinError) as cm:
            libswin.Model("/nonexistent/model.safetensors")
        self.assertEqual(cm.exception.status, libswin.Status.ERR_IO)
        self.assertEqual(str(cm.exception.status), "SWIN_ERR_IO")
        self.assertIn("/nonexistent/model.safetensors", cm.exception.message)

    def test_bad_option(self):
        with self.assertRaises(libswin.SwinError) as cm:
            libswin.Model(MICRO, options={"no_such_key": "1"})
        self.assertEqual(cm.exception.status, libswin.Status.ERR_CONFIG)

    def test_not_safetensors(self):
        with self.assertRaises(libswin.SwinError) as cm:
            libswin.Model.from_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
        self.assertEqual(cm.exception.status, libswin.Status.ERR_HEADER)

    def test_bad_input(self):
        with libswin.Model(MICRO) as m:
            with self.assertRaises(libswin.SwinError) as cm:
                m.run(np.zeros((1, 3, 30, 30), np.float32))  # not a multiple of the patch
            self.assertEqual(cm.exception.status, libswin.Status.ERR_INPUT_SIZE)
            with self.assertRaises(libswin.SwinError) as cm:
                m.run(np.zeros((3, 112, 112), np.float32))
            self.assertEqual(cm.exception.status, libswin.Status.ERR_INVALID_ARGUMENT)
            with self.assertRaises(libswin.SwinError):
                m.context().stage(7)

    def test_unreadable_image(self):
        with libswin.Model(SHAPES) as m, tempfile.NamedTemporaryFile(suffix=".png") as f:
            f.write(b"not a png")
            f.flush()
            with self.assertRaises(libswin.SwinError) as cm:
                m.classify([f.name], errors="raise")
            self.assertEqual(cm.exception.status, libswin.Status.ERR_FORMAT)
            r = m.classify([f.name])
            self.assertEqual(r, [{"path": f.name, "top": [], "error": r[0]["error"]}])
            self.assertTrue(r[0]["error"].startswith("SWIN_ERR_FORMAT: "), r[0]["error"])


class TestClassify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = libswin.Model(SHAPES)  # a hub folder

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_hub_folder(self):
        self.assertEqual(self.model.num_classes, 10)
        self.assertEqual(self.model.labels[:3], ["circle", "square", "triangle"])
        self.assertEqual(self.model.input_size, 64)

    def test_matches_pytorch_top5(self):
        with open(os.path.join(IMAGES, "expected_top5.json")) as f:
            expected = json.load(f)["images"]
        results = self.model.classify(IMAGES, top=5, batch=4)
        self.assertEqual([os.path.basename(r["path"]) for r in results],
                         [e["file"] for e in expected])
        for r, e in zip(results, expected):
            self.assertEqual([t["label"] for t in r["top"]], [t["label"] for t in e["top5"]])
            for t, u in zip(r["top"], e["top5"]):
                self.assertAlmostEqual(t["prob"], u["prob"], delta=1e-4)

    def test_matches_the_cli(self):
        if not CLI:
            self.skipTest("no swin program (set SWIN_CLI)")
        out = subprocess.run([CLI, "classify", "--model", SHAPES, "--json", "--top", "3", IMAGES],
                             check=True, stdout=subprocess.PIPE).stdout.decode()
        cli = [json.loads(line) for line in out.splitlines()]
        mine = self.model.classify(IMAGES, top=3)
        self.assertEqual(len(mine), len(cli))
        for r, c in zip(mine, cli):
            self.assertEqual(r["path"], c["path"])
            self.assertEqual([(t["index"], t["label"]) for t in r["top"]],
                             [(t["index"], t["label"]) for t in c["top"]])
            for t, u in zip(r["top"], c["top"]):
                self.assertAlmostEqual(t["prob"], u["prob"], delta=1e-6)  # printed with %.6f

    def test_preprocess_matches_the_cli(self):
        path = os.path.join(IMAGES, "img02.jpg")
        batch = self.model.preprocess(path)
        self.assertEqual(batch.shape, (1, 3, 64, 64))
        if CLI:
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "x.npy")
                subprocess.run([CLI, "preprocess", "--model", SHAPES, path, "--output", out],
                               check=True)
                np.testing.assert_array_equal(batch, np.load(out))
        # the same pixels from memory, and as a decoded RGB8 array
        with open(path, "rb") as f:
            np.testing.assert_array_equal(self.model.preprocess(f.read()), batch)
        pixels = libswin.load_image(path)
        with open(os.path.join(IMAGES, "expected_top5.json")) as f:
            facts = {e["file"]: e for e in json.load(f)["images"]}["img02.jpg"]
        self.assertEqual(pixels.shape, (facts["height"], facts["width"], 3))
        self.assertEqual(pixels.dtype, np.uint8)
        np.testing.assert_array_equal(self.model.preprocess(pixels), batch)


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests",
                        "fixtures")


def input_hash(shape, seed):
    """The fixtures' input (tests/fixtures/README.md), in NumPy: uint32 arithmetic mod 2^32."""
    i = np.arange(int(np.prod(shape)), dtype=np.uint64)
    h = (i + np.uint64(seed) * np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF)
    for shift, mul in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        h ^= h >> np.uint64(shift)
        h = (h * np.uint64(mul)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return ((h >> np.uint64(8)).astype(np.float64) * 2.0 ** -22 - 2.0).astype(np.float32).reshape(shape)


def read_f32(path):
    """The F32 tensors of a safetensors file, as NumPy arrays."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name != "__metadata__" and e["dtype"] == "F32":
            a, b = e["data_offsets"]
            out[name] = np.frombuffer(data[8 + n + a:8 + n + b], "<f4").reshape(e["shape"])
    return out


class TestTransformers(unittest.TestCase):
    """A transformers ViTModel folder: features and the pooler, against the independent
    reference's outputs (tests/fixtures/transformers)."""

    def test_vit_model_pooler(self):
        folder = os.path.join(FIXTURES, "transformers", "vit_model")
        exp = read_f32(folder + ".expected.safetensors")
        x = input_hash((2, 3, 48, 48), 22)
        with libswin.Model(folder) as m:
            self.assertEqual(m.info["naming"], "transformers")
            self.assertEqual(m.info["pooler"], "1")
            self.assertEqual(m.num_classes, 0)
            with m.context() as ctx:
                ctx.run(x)
                assert_close(self, ctx.output("pooler"), exp["pooler"])
                assert_close(self, ctx.features(), exp["features"])
                assert_close(self, ctx.tokens(), exp["last_hidden_state"])


class TestLibrary(unittest.TestCase):
    def test_listings(self):
        keys = libswin.option_keys()
        for k in ("arch", "embed_dim", "depths", "window_size", "init_values", "mean"):
            self.assertIn(k, keys)
        archs = {a["arch"]: a for a in libswin.architectures()}
        self.assertTrue(archs["swin_tiny_patch4_window7_224"]["supported"])
        self.assertEqual(archs["vit_base_patch16_224"]["family"], "vit")
        hybrid = archs["vit_base_r50_s16_384"]
        self.assertFalse(hybrid["supported"])
        self.assertIn("another patch embedding", hybrid["missing"])

    def test_version_and_threads(self):
        self.assertRegex(libswin.library_version(), r"^\d+\.\d+\.\d+$")
        n = libswin.get_num_threads()
        libswin.set_num_threads(1)
        self.assertEqual(libswin.get_num_threads(), 1)
        libswin.set_num_threads(n)
        with self.assertRaises(libswin.SwinError) as cm:
            libswin.set_num_threads(0)
        self.assertEqual(cm.exception.status, libswin.Status.ERR_INVALID_ARGUMENT)


if __name__ == "__main__":
    unittest.main()
