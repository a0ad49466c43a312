"""MNIST, Fashion-MNIST and CIFAR-10 from the ``keras.datasets`` servers, downloaded once into the
Keras cache (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``).

The cache folder is resolved at call time (Keras reads ``KERAS_HOME`` once at import), files are
fetched with ``keras.utils.get_file`` (which skips the download when the file is present), and
offline the error names the file to place and the folder to place it in. Arrays are read without
pickle where the format allows it; CIFAR-10's pickled batches go through an unpickler that only
admits numpy arrays and plain containers.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile

import numpy as np

from playground.data.base import Dataset, DatasetError, validate_arrays

ORIGIN_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FASHION_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"]
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"]


def keras_home() -> str:
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _fetch(fname: str, origin: str, subdir: str) -> str:
    """The cached file's path, downloading it first if absent; offline -> DatasetError."""
    folder = os.path.join(keras_home(), subdir)
    target = os.path.join(folder, fname)
    if os.path.exists(target):
        return target
    import keras

    try:
        return keras.utils.get_file(fname=fname, origin=origin, cache_dir=keras_home(),
                                    cache_subdir=subdir)
    except Exception as exc:  # noqa: BLE001 - urllib/HTTP/hash errors all mean "not available"
        raise DatasetError(
            f"cannot download {fname} from {origin} ({exc}). Offline? Download it elsewhere and "
            f"place it as {target}") from None


def load_keras_dataset(name: str) -> Dataset:
    if name == "mnist":
        path = _fetch("mnist.npz", ORIGIN_BASE + "mnist.npz", "datasets")
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise DatasetError(f"{path}: not a valid mnist.npz ({exc}); delete it to download "
                               "again") from None
        names = [str(i) for i in range(10)]
    elif name == "fashion_mnist":
        paths = [_fetch(f, ORIGIN_BASE + "fashion-mnist/" + f, os.path.join("datasets",
                                                                             "fashion-mnist"))
                 for f in FASHION_FILES]
        arrays = [_read_idx(p, 8 if "labels" in p else 16) for p in paths]
        arrays = [arrays[1].reshape(-1, 28, 28), arrays[0], arrays[3].reshape(-1, 28, 28),
                  arrays[2]]
        names = FASHION_NAMES
    elif name == "cifar10":
        path = _fetch("cifar-10-python.tar.gz", CIFAR10_ORIGIN, "datasets")
        arrays = _read_cifar10(path)
        names = CIFAR10_NAMES
    else:
        raise DatasetError(f"unknown keras dataset {name!r}")
    x, y = validate_arrays(arrays[0], arrays[1], name, num_classes=len(names))
    xt, yt = validate_arrays(arrays[2], arrays[3], f"{name} (test)", num_classes=len(names))
    return Dataset(name, x, y, list(names), xt, yt,
                   notes=[f"{name}: {len(x)} training and {len(xt)} test images from the Keras "
                          f"cache {os.path.join(keras_home(), 'datasets')}"])


def _read_idx(path: str, offset: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    except (OSError, EOFError, ValueError) as exc:
        raise DatasetError(f"{path}: not a valid gzip IDX file ({exc}); delete it to download "
                           "again") from None


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only what CIFAR batches contain: numpy arrays, dtypes and plain containers."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "dict"),
               ("builtins", "list"), ("builtins", "bytes")}

    def find_class(self, module: str, name: str):  # noqa: D401
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"forbidden object {module}.{name}")


def _read_cifar10(path: str) -> list[np.ndarray]:
    xs, xt, yt = [], None, None
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                base = os.path.basename(member.name)
                if not (base.startswith("data_batch_") or base == "test_batch"):
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                batch = _ArrayUnpickler(io.BytesIO(handle.read()), encoding="bytes").load()
                data = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
                data = data.transpose(0, 2, 3, 1)
                labels = np.asarray(batch[b"labels"], np.int64)
                if base == "test_batch":
                    xt, yt = data, labels
                else:
                    xs.append((base, data, labels))
    except (OSError, EOFError, tarfile.TarError, pickle.UnpicklingError, KeyError,
            ValueError) as exc:
        raise DatasetError(f"{path}: not a valid CIFAR-10 archive ({exc}); delete it to "
                           "download again") from None
    if len(xs) != 5 or xt is None:
        raise DatasetError(f"{path}: incomplete CIFAR-10 archive (found {len(xs)} of 5 training "
                           "batches)")
    xs.sort()
    return [np.concatenate([d for _, d, _ in xs]), np.concatenate([lab for _, _, lab in xs]),
            xt, yt]
