"""Inputs (PIL images of every mode, arrays, bytes, paths), per-image errors, pickling (also
across a multiprocessing spawn), the deprecated `swin` name. Run as test_libswin.py says."""
import multiprocessing
import os
import pickle
import sys
import unittest
import warnings

import numpy as np

if not os.environ.get("SWIN_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libswin  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples")
MICRO = os.path.join(EXAMPLES, "swin_micro.safetensors")
SHAPES = os.path.join(EXAMPLES, "shapes")
IMAGES = os.path.join(SHAPES, "images")

try:
    from PIL import Image
except ImportError:  # pragma: no cover
    Image = None


def _classify_in_child(model, path):
    return model.classify([path, path + ".missing"], top=3)


def _raise_in_child(_):
    raise libswin.SwinError(libswin.Status.ERR_FORMAT, "bad image")


class TestInputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = libswin.Model(SHAPES)
        cls.path = os.path.join(IMAGES, "img01.png")
        cls.rgb = libswin.load_image(cls.path)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    @unittest.skipIf(Image is None, "no PIL")
    def test_pil_modes_as_convert_rgb(self):
        ref = self.model.preprocess(self.path)
        im = Image.open(self.path)
        np.testing.assert_array_equal(self.model.preprocess(im), ref)
        rgba = im.convert("RGBA")
        rgba.putalpha(7)  # alpha is dropped, not composited
        np.testing.assert_array_equal(self.model.preprocess(rgba), ref)
        for mode in ("L", "P", "LA", "1", "I", "CMYK", "YCbCr", "HSV", "RGBX"):
            conv = im.convert("RGB").convert(mode)
            want = self.model.preprocess(np.asarray(conv.convert("RGB")))
            np.testing.assert_array_equal(self.model.preprocess(conv), want, mode)
        # a list of PIL images: one result each
        r = self.model.classify([im, im.convert("L")], top=2)
        self.assertEqual([x["error"] for x in r], [None, None])
        self.assertEqual([x["path"] for x in r], [None, None])

    def test_arrays(self):
        ref = self.model.preprocess(self.path)
        np.testing.assert_array_equal(self.model.preprocess(self.rgb), ref)
        np.testing.assert_array_equal(self.model.preprocess(self.rgb[:, ::-1][:, ::-1]), ref)
        rgba = np.concatenate([self.rgb, np.full(self.rgb.shape[:2] + (1,), 9, np.uint8)], 2)
        np.testing.assert_array_equal(self.model.preprocess(rgba), ref)
        gray = self.rgb[:, :, 1].copy()
        np.testing.assert_array_equal(self.model.preprocess(gray),
                                      self.model.preprocess(np.repeat(gray[:, :, None], 3, 2)))
        with self.assertRaises(libswin.SwinError):
            self.model.preprocess(self.rgb.astype(np.float32))
        # a stack of arrays is a list of images
        self.assertEqual(self.model.preprocess(np.stack([self.rgb, self.rgb])).shape[0], 2)

    def test_one_result_per_input(self):
        with open(self.path, "rb") as f:
            data = f.read()
        inputs = [self.path, data, b"not an image", self.rgb, os.path.join(IMAGES, "nope.png"),
                  np.zeros((4, 4, 2), np.uint8), 42]
        r = self.model.classify(inputs, top=3, batch=2)
        self.assertEqual(len(r), len(inputs))
        good = [0, 1, 3]
        for i, x in enumerate(r):
            self.assertEqual(x["error"] is None, i in good, (i, x))
            self.assertEqual(len(x["top"]), 3 if i in good else 0)
        for j in (1, 3):  # the same image (batches of another make-up: float32 noise)
            self.assertEqual([t["index"] for t in r[j]["top"]], [t["index"] for t in r[0]["top"]])
            for t, u in zip(r[j]["top"], r[0]["top"]):
                self.assertAlmostEqual(t["prob"], u["prob"], delta=1e-5)
        self.assertEqual(r[0]["path"], self.path)
        self.assertTrue(r[2]["error"].startswith("SWIN_ERR_FORMAT"))
        self.assertTrue(r[4]["error"].startswith("SWIN_ERR_IO"))
        self.assertTrue(r[6]["error"].startswith("TypeError"))
        with self.assertRaises(libswin.SwinError):
            self.model.classify(inputs, errors="raise")
        with self.assertRaises(ValueError):
            self.model.classify(inputs, errors="ignore")

    def test_topk_matches_a_numpy_softmax(self):
        x = self.model.preprocess(IMAGES)
        with self.model.context() as ctx:
            logits = ctx.run(x).logits().astype(np.float64)
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            for b in range(len(x)):
                classes, probs = ctx.topk(4, b)
                np.testing.assert_array_equal(classes, np.argsort(-logits[b], kind="stable")[:4])
                np.testing.assert_allclose(probs, p[b, classes], atol=1e-6)

    def test_features(self):
        f = self.model.features(IMAGES, batch=3)
        with self.model.context() as ctx:
            want = ctx.run(self.model.preprocess(IMAGES)).features()
        np.testing.assert_allclose(f, want, atol=1e-5)
        self.assertEqual(f.shape[1], self.model.num_features)
        g = self.model.features([self.path, b"junk"], errors="nan")
        np.testing.assert_allclose(g[0], want[0], atol=1e-5)
        self.assertTrue(np.isnan(g[1]).all())
        with self.assertRaises(libswin.SwinError):
            self.model.features([self.path, b"junk"])


class TestPickle(unittest.TestCase):
    def test_model_by_path_and_options(self):
        with libswin.Model(MICRO) as m0:
            options = {"window_size": m0.info["window_size"], "depths": m0.info["depths"]}
        with libswin.Model(MICRO, options=options) as m:
            m2 = pickle.loads(pickle.dumps(m))
            self.assertEqual(m2.path, m.path)
            self.assertEqual(m2.info, m.info)
            x = np.load(os.path.join(EXAMPLES, "input.npy"))
            np.testing.assert_array_equal(m2.run(x), m.run(x))
            self.assertLess(len(pickle.dumps(m)), 1000)  # the path, not the weights
            m2.close()

    def test_model_from_bytes(self):
        with open(MICRO, "rb") as f:
            data = f.read()
        with libswin.Model.from_bytes(data) as m:
            blob = pickle.dumps(m)
            self.assertGreater(len(blob), len(data))
            with pickle.loads(blob) as m2:
                self.assertIsNone(m2.path)
                x = np.load(os.path.join(EXAMPLES, "input.npy"))
                np.testing.assert_array_equal(m2.run(x), m.run(x))

    def test_error(self):
        try:
            libswin.Model("/nonexistent/m.safetensors")
        except libswin.SwinError as e:
            err = e
        e2 = pickle.loads(pickle.dumps(err))
        self.assertIsInstance(e2, libswin.SwinError)
        self.assertEqual(e2.status, libswin.Status.ERR_IO)
        self.assertEqual(str(e2.status), "SWIN_ERR_IO")
        self.assertEqual(e2.message, err.message)
        self.assertEqual(str(e2), str(err))

    def test_spawn(self):
        path = os.path.join(IMAGES, "img02.jpg")
        with libswin.Model(SHAPES) as m:
            want = m.classify([path, path + ".missing"], top=3)
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(1) as pool:
                got = pool.apply(_classify_in_child, (m, path))
                self.assertEqual(got, want)
                with self.assertRaises(libswin.SwinError) as cm:
                    pool.apply(_raise_in_child, (0,))
        self.assertEqual(cm.exception.status, libswin.Status.ERR_FORMAT)
        self.assertEqual(cm.exception.message, "bad image")


class TestOldName(unittest.TestCase):
    def test_swin_imports_libswin_and_warns(self):
        sys.modules.pop("swin", None)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            import swin
        self.assertTrue(any(issubclass(x.category, DeprecationWarning) for x in w))
        self.assertIs(swin.Model, libswin.Model)
        self.assertIs(swin.Status, libswin.Status)
        self.assertEqual(swin.OUTPUT_LOGITS, libswin.OUTPUT_LOGITS)


if __name__ == "__main__":
    unittest.main()
