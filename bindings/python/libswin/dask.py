"""libswin on Dask: classify images, or compute their features, across a cluster's workers.

    from dask.distributed import Client
    import libswin, libswin.dask
    client = Client("tcp://scheduler:8786")               # or a LocalCluster
    model = libswin.Model("/models/swin_tiny")            # a path every worker can read
    df = libswin.dask.classify(paths, model, top=5, batch_size=32)
    df.compute()            # pandas: path, label, prob, top, error (one row per path)

The model goes to the workers pickled (its path and options, or its bytes for a model loaded
from bytes), once per worker as one key of the graph; each worker process loads it once and
keeps it for the tasks that follow (a per-process cache keyed by the pickled model).
docs/distributed.md: threads, memory, a real cluster.
"""
from __future__ import annotations

import pickle
import threading
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from . import Model

__all__ = ["classify", "features"]

_cache: Dict[bytes, Model] = {}
_cache_lock = threading.Lock()


def _model(blob: bytes) -> Model:
    """The model pickled as blob, loaded once per process and reused by every task after."""
    with _cache_lock:
        model = _cache.get(blob)
        if model is None:
            model = _cache[blob] = pickle.loads(blob)
        return model


def _classify_part(paths: List[str], blob: bytes, top: int, batch_size: int):
    import pandas as pd

    results = _model(blob).classify(paths, top=top, batch=batch_size)
    rows = {"path": [], "label": [], "prob": [], "top": [], "error": []}
    for path, r in zip(paths, results):
        best = r["top"][0] if r["top"] else None
        rows["path"].append(path)
        rows["label"].append(best["label"] if best else None)
        rows["prob"].append(best["prob"] if best else float("nan"))
        rows["top"].append(r["top"])
        rows["error"].append(r["error"])
    return pd.DataFrame(rows, columns=list(rows))


def _features_part(paths: List[str], blob: bytes, batch_size: int) -> np.ndarray:
    return _model(blob).features(paths, batch=batch_size, errors="nan")


def _chunks(paths: Sequence[str], batch_size: int) -> List[List[str]]:
    if batch_size < 1:
        raise ValueError("batch_size must be positive, not %d" % batch_size)
    paths = [str(p) for p in paths]
    return [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]


def _model_key(model: Model, client: Any):
    """The pickled model as one node of the graph (every task depends on it, so each worker
    receives it once); with a client, scattered to all its workers up front."""
    import dask

    blob = pickle.dumps(model)
    if client is not None:
        return client.scatter(blob, broadcast=True, hash=True)
    return dask.delayed(blob, pure=True)


def classify(paths: Sequence[str], model: Model, *, top: int = 5, batch_size: int = 32,
             client: Any = None):
    """Classifies image files on Dask's workers: a dask.dataframe with one row per path, in
    order, and columns path, label (the most probable class; None when the image could not be
    read), prob (its probability; NaN then), top (the `top` best as Model.classify gives them:
    a list of {"index", "label", "prob"}) and error (None, or why the image could not be read).
    One task per batch_size paths. The paths must be readable by the workers and `model`
    loadable there (a path they can read, or a model from bytes). Without a client the result
    is lazy (computed by the active scheduler: the default distributed Client, if one exists);
    with one, it is persisted on that client's cluster."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    key = _model_key(model, client)
    part = dask.delayed(_classify_part, pure=True)
    parts = [part(chunk, key, top, batch_size) for chunk in _chunks(paths, batch_size)]
    meta = pd.DataFrame({"path": pd.Series([], dtype=object), "label": pd.Series([], dtype=object),
                         "prob": pd.Series([], dtype="float64"),
                         "top": pd.Series([], dtype=object), "error": pd.Series([], dtype=object)})
    if not parts:
        return dd.from_pandas(meta, npartitions=1)
    df = dd.from_delayed(parts, meta=meta, verify_meta=False)
    return client.persist(df) if client is not None else df


def features(paths: Sequence[str], model: Model, *, batch_size: int = 32,
             client: Any = None) -> Tuple[Any, List[str]]:
    """Pooled features of image files on Dask's workers: (a dask.array [N, C] float32, one row
    per path in order, chunked batch_size rows at a time; the N paths as strings). The row of an
    image that could not be read is NaN. Workers, client and laziness as in classify."""
    import dask
    import dask.array as da

    chunks = _chunks(paths, batch_size)
    names = [p for chunk in chunks for p in chunk]
    width = model.num_features
    if not chunks:
        return da.zeros((0, width), dtype=np.float32), names
    key = _model_key(model, client)
    part = dask.delayed(_features_part, pure=True)
    arr = da.concatenate([da.from_delayed(part(chunk, key, batch_size), (len(chunk), width),
                                          dtype=np.float32) for chunk in chunks])
    return (client.persist(arr) if client is not None else arr), names
