"""libswin.dask on a LocalCluster of two worker processes (loopback): classify and features
of a few dozen generated images, one of them corrupt, equal to the local Model's results.
Skipped without dask.distributed. Run as test_libswin.py says."""
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np

if not os.environ.get("SWIN_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libswin  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples")
SHAPES = os.path.abspath(os.path.join(EXAMPLES, "shapes"))
IMAGES = os.path.join(SHAPES, "images")

try:
    import dask.dataframe  # noqa: F401 (skip the tests without it)
    from dask.distributed import Client, LocalCluster
    from PIL import Image

    import libswin.dask
except ImportError:  # pragma: no cover
    Client = None


def make_images(folder):
    """The example images re-encoded at a few sizes (JPEG and PNG), and one corrupt file."""
    paths = []
    for name in sorted(os.listdir(IMAGES)):
        if not name.endswith((".png", ".jpg")):
            continue
        im = Image.open(os.path.join(IMAGES, name)).convert("RGB")
        for size in (48, 64, 80, 100, 130):
            for ext in ("jpg", "png"):
                p = os.path.join(folder, "%s_%d.%s" % (name[:-4], size, ext))
                im.resize((size, size * 3 // 4), Image.BILINEAR).save(p)
                paths.append(p)
    bad = os.path.join(folder, "corrupt.jpg")
    with open(paths[0], "rb") as f:
        head = f.read(200)
    with open(bad, "wb") as f:
        f.write(head)  # a truncated JPEG
    paths.insert(37, bad)
    return paths


@unittest.skipIf(Client is None, "no dask.distributed / PIL")
class TestDask(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.paths = make_images(cls.dir)
        # Spawned workers inherit the environment: the library (SWIN_LIBRARY, if set) and this
        # package's directory, wherever the test imported it from.
        cls.environ = dict(os.environ)
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(libswin.__file__)))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [pkg] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        os.environ.setdefault("SWIN_NUM_THREADS", "1")  # one core per single-threaded worker
        cls.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
        cls.client = Client(cls.cluster)
        cls.model = libswin.Model(SHAPES)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.cluster.close()
        cls.model.close()
        shutil.rmtree(cls.dir)
        os.environ.clear()
        os.environ.update(cls.environ)

    def test_classify(self):
        local = self.model.classify(self.paths, top=3, batch=16)
        df = libswin.dask.classify(self.paths, self.model, top=3, batch_size=16)
        self.assertEqual(list(df.columns), ["path", "label", "prob", "top", "error"])
        self.assertEqual(df.npartitions, (len(self.paths) + 15) // 16)
        got = df.compute()
        self.assertEqual(list(got["path"]), self.paths)
        for (_, row), want in zip(got.iterrows(), local):
            self.assertEqual(row["error"], want["error"], row["path"])
            self.assertEqual(row["top"], want["top"], row["path"])  # same batches: same floats
            if want["error"] is None:
                self.assertEqual(row["label"], want["top"][0]["label"])
                self.assertEqual(row["prob"], want["top"][0]["prob"])
            else:
                self.assertIsNone(row["label"])
                self.assertTrue(np.isnan(row["prob"]))
        self.assertEqual(int(got["error"].notna().sum()), 1)
        self.assertTrue(got["error"].iloc[37].startswith("SWIN_ERR_"))
        # each worker process loaded the model once, for all its tasks
        loads = self.client.run(lambda: len(libswin.dask._cache))
        self.assertEqual(len(loads), 2)
        self.assertLessEqual(max(loads.values()), 1)
        self.assertEqual(sum(loads.values()), 2)  # 7 tasks on 2 idle workers: both got some

    def test_features_with_client(self):
        arr, names = libswin.dask.features(self.paths, self.model, batch_size=16,
                                           client=self.client)
        self.assertEqual(names, self.paths)
        self.assertEqual(arr.shape, (len(self.paths), self.model.num_features))
        got = arr.compute()
        want = self.model.features(self.paths, batch=16, errors="nan")
        np.testing.assert_array_equal(got, want)
        self.assertTrue(np.isnan(got[37]).all())

    def test_model_from_bytes(self):
        with open(os.path.join(SHAPES, "model.safetensors"), "rb") as f:
            data = f.read()
        with libswin.Model.from_bytes(data) as m:
            got = libswin.dask.classify(self.paths[:20], m, top=2, batch_size=8).compute()
            want = m.classify(self.paths[:20], top=2, batch=8)
        self.assertEqual(list(got["top"]), [w["top"] for w in want])


if __name__ == "__main__":
    unittest.main()
