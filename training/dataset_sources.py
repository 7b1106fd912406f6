"""Readers of the sources the dataset tool converts: MNIST IDX files, CIFAR-10/100 and SVHN batches, SVHN .mat,
ProGAN HDF5, LSUN LMDB and the CelebA folder.

Each reader checks what it reads and raises `DatasetError` with one line naming the file and the problem (a batch of
the wrong size, labels out of range, a truncated file ...). Pickled batches are read with the project's restricted
unpickler (`stylegan_tf.restricted_pickle`): plain containers, numbers, strings and numeric NumPy arrays only.
Images come out as uint8 `[N, C, H, W]`, class labels as int64 `[N]`.
"""
import contextlib
import glob
import gzip
import itertools
import math
import os
import pickle
import struct

import numpy as np

from stylegan_tf.restricted_pickle import RestrictedUnpickler
from training.dataset import DatasetError, require_dir

#: the parts of a source each `--split` takes
SPLITS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


def find_file(directory, *names):
    """The first of `names` that exists in `directory`; DatasetError listing them otherwise."""
    require_dir(directory, "source directory")
    for name in names:
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise DatasetError(f"{directory} has none of: {', '.join(names)}")


def one_hot(class_ids, num_classes):
    """int `[N]` -> float32 `[N, num_classes]` one-hot rows."""
    labels = np.zeros([len(class_ids), num_classes], np.float32)
    labels[np.arange(len(class_ids)), class_ids] = 1.0
    return labels


def is_one_hot(labels):
    """True when every row of `labels` `[N, L]` is one-hot."""
    return bool(np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1))


def _as_array(values, what):
    try:
        return np.asarray(values)
    except (ValueError, TypeError, OverflowError) as error:  # ragged lists, unconvertible objects
        raise DatasetError(f"{what}: not an array of numbers ({error})") from None


def check_images(values, shape, source):
    """`values` as uint8 `[N, *shape]`: any array of integers in [0, 255] with `prod(shape)` values per image."""
    array = _as_array(values, source)
    per_image = math.prod(shape)
    if array.dtype.kind not in "biu" or array.ndim < 1 or math.prod(array.shape[1:]) != per_image:
        raise DatasetError(f"{source}: expected uint8 images of {'x'.join(map(str, shape))} = {per_image} values "
                           f"each, found {array.dtype} {list(array.shape)}")
    if array.dtype != np.uint8 and array.size and (array.min() < 0 or array.max() > 255):
        raise DatasetError(f"{source}: pixel values must lie in [0, 255], found [{array.min()}, {array.max()}]")
    return array.astype(np.uint8, copy=False).reshape(-1, *shape)


def check_class_ids(values, num_images, num_classes, source):
    """`values` as int64 `[num_images]` of class indices in `[0, num_classes)`; whole floats are accepted."""
    array = _as_array(values, source)
    integral = array.dtype.kind in "biu" or (array.dtype.kind == "f" and bool(np.all(np.isfinite(array)))
                                             and bool(np.all(array == np.round(array))))
    if not integral or array.shape != (num_images,):
        raise DatasetError(f"{source}: expected {num_images} integer class labels (one per image), found "
                           f"{array.dtype} {list(array.shape)}")
    if num_images and (array.min() < 0 or array.max() >= num_classes):
        raise DatasetError(f"{source}: class labels must lie in [0, {num_classes}), found labels from "
                           f"{array.min():.0f} to {array.max():.0f}")
    return array.astype(np.int64)


def read_idx(path):
    """An IDX file of unsigned bytes (the MNIST format, gzipped when named *.gz) as a uint8 array."""
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None
    if len(raw) < 4 or raw[:3] != b"\0\0\x08" or len(raw) < 4 + 4 * raw[3]:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(dims):
        raise DatasetError(f"{path} is truncated or corrupt: its header announces {list(dims)} values but it holds "
                           f"{data.size}")
    return data.reshape(dims)


def read_mnist(mnist_dir, split):
    """MNIST or Fashion-MNIST `split` (see SPLITS): images zero-padded to uint8 `[N, 1, 32, 32]`, class ids `[N]`."""
    prefixes = {"train": "train", "test": "t10k"}
    images, class_ids = [], []
    for part in SPLITS[split]:
        names = [f"{prefixes[part]}-{kind}-idx{ndim}-ubyte" for kind, ndim in (("images", 3), ("labels", 1))]
        part_images, part_labels = (read_idx(find_file(mnist_dir, name + ".gz", name)) for name in names)
        if part_images.ndim != 3 or part_images.shape[1:] != (28, 28):
            raise DatasetError(f"{mnist_dir}: {names[0]} holds {list(part_images.shape)}, expected [N, 28, 28]")
        images.append(part_images)
        class_ids.append(check_class_ids(part_labels, len(part_images), 10, f"{mnist_dir}: {names[1]}"))
    images = np.pad(np.concatenate(images)[:, np.newaxis], [(0, 0), (0, 0), (2, 2), (2, 2)])
    return images, np.concatenate(class_ids)


def load_pickle(path):
    """A pickled data file (CIFAR, SVHN) read with the restricted unpickler; dict keys decoded to str."""
    try:
        with open(path, "rb") as file:
            data = RestrictedUnpickler(file, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None
    if isinstance(data, dict):
        data = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in data.items()}
    return data


def read_cifar(source_dir, files, label_key, num_classes):
    """CIFAR batches `files` of `source_dir` (dicts with 'data' [N, 3072] and `label_key` [N]): uint8 images
    `[N, 3, 32, 32]` and class ids `[N]`, checked batch by batch."""
    images, class_ids = [], []
    for name in files:
        path = find_file(source_dir, name)
        data = load_pickle(path)
        if not isinstance(data, dict) or "data" not in data or label_key not in data:
            raise DatasetError(f"{path} is not a CIFAR batch (no 'data'/'{label_key}')")
        images.append(check_images(data["data"], (3, 32, 32), f"{path}: 'data'"))
        class_ids.append(check_class_ids(data[label_key], len(images[-1]), num_classes, f"{path}: '{label_key}'"))
    return np.concatenate(images), np.concatenate(class_ids)


def read_svhn(svhn_dir):
    """SVHN training digits from `train_32x32.mat` (needs scipy) or the official tool's `train_1.pkl` ..
    `train_3.pkl`: uint8 images `[N, 3, 32, 32]`, class ids `[N]` (digit 0 is class 0)."""
    require_dir(svhn_dir, "source directory")
    mat_file = os.path.join(svhn_dir, "train_32x32.mat")
    if os.path.isfile(mat_file):
        return _read_svhn_mat(mat_file)
    images, class_ids = [], []
    for i in (1, 2, 3):
        path = find_file(svhn_dir, f"train_{i}.pkl", "train_32x32.mat")
        part = load_pickle(path)
        if not (isinstance(part, (tuple, list)) and len(part) == 2):
            raise DatasetError(f"{path} must hold a pair (images, labels)")
        images.append(check_images(part[0], (3, 32, 32), f"{path}: images"))
        labels = _as_array(part[1], f"{path}: labels")
        class_ids.append(check_class_ids(labels.reshape(-1), len(images[-1]), 10, f"{path}: labels"))
    return np.concatenate(images), np.concatenate(class_ids)


def _read_svhn_mat(path):
    try:
        import scipy.io
    except ImportError:
        raise DatasetError("reading train_32x32.mat needs scipy: pip install scipy") from None
    try:
        data = scipy.io.loadmat(path)
    except (OSError, ValueError, NotImplementedError, scipy.io.matlab.MatReadError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None
    if not isinstance(data.get("X"), np.ndarray) or data["X"].ndim != 4 or "y" not in data:
        raise DatasetError(f"{path} is not SVHN's train_32x32.mat (expected X [32, 32, 3, N] and y [N, 1])")
    images = check_images(np.ascontiguousarray(data["X"].transpose(3, 2, 0, 1)), (3, 32, 32), f"{path}: X")
    labels = _as_array(data["y"], f"{path}: y").reshape(-1)
    return images, check_class_ids(labels, len(images), 11, f"{path}: y") % 10  # the file labels digit 0 as 10


@contextlib.contextmanager
def open_hdf5(hdf5_filename):
    """A ProGAN HDF5 file (datasets data4x4 ... dataNxN of uint8 NCHW images): yields `(images, labels)`, the largest
    level as an h5py dataset `[N, C, R, R]` (read while the block runs) and the float32 labels `[N, L]` of
    `<hdf5 name>-labels.npy` beside it, or None."""
    try:
        import h5py
    except ImportError:
        raise DatasetError("create_from_hdf5 needs h5py: pip install h5py") from None
    if not os.path.isfile(hdf5_filename):
        raise DatasetError(f"HDF5 file {hdf5_filename} does not exist")
    try:
        hdf5_file = h5py.File(hdf5_filename, "r")
    except OSError as error:
        raise DatasetError(f"cannot read {hdf5_filename}: {error}") from None
    with hdf5_file:
        candidates = [value for key, value in hdf5_file.items() if key.startswith("data")]
        if not candidates:
            raise DatasetError(f"{hdf5_filename} has no 'data<R>x<R>' datasets")
        images = max(candidates, key=lambda dataset: dataset.shape[-1])
        labels = None
        labels_file = os.path.splitext(hdf5_filename)[0] + "-labels.npy"
        if os.path.isfile(labels_file):
            try:
                labels = np.load(labels_file, allow_pickle=False)
            except (OSError, ValueError) as error:
                raise DatasetError(f"cannot read {labels_file}: {error}") from None
            if labels.ndim != 2 or labels.shape[0] != images.shape[0]:
                raise DatasetError(f"{labels_file} holds {list(labels.shape)}; expected [{images.shape[0]}, "
                                   f"label_size] to match {images.name}")
        yield images, labels


@contextlib.contextmanager
def open_lsun(lmdb_dir, max_images=None):
    """An LSUN category's LMDB folder: yields `(count, entries)`, `entries` an iterator of `(key, encoded image
    bytes)` in stored order (the first `max_images`, or all), read while the block runs. Needs `lmdb`."""
    try:
        import lmdb
    except ImportError:
        raise DatasetError("create_lsun needs the lmdb package: pip install 'stylegan-tf[lsun]' "
                           "(or pip install lmdb)") from None
    require_dir(lmdb_dir, "LMDB directory")
    try:
        env = lmdb.open(lmdb_dir, readonly=True, lock=False, readahead=False)
    except lmdb.Error as error:
        raise DatasetError(f"cannot open LMDB {lmdb_dir}: {error}") from None
    with env, env.begin(write=False) as txn:
        count = txn.stat()["entries"] if max_images is None else min(max_images, txn.stat()["entries"])
        yield count, ((key.decode("ascii", "replace"), bytes(value))
                      for key, value in itertools.islice(txn.cursor(), count))


#: size of CelebA's aligned images, (width, height)
CELEBA_SIZE = (178, 218)


def celeba_files(celeba_dir):
    """Sorted paths of CelebA's aligned faces: img_align_celeba_png/*.png (as official) or img_align_celeba/*.jpg."""
    require_dir(celeba_dir, "CelebA directory")
    for folder, pattern in (("img_align_celeba_png", "*.png"), ("img_align_celeba", "*.jpg")):
        files = sorted(glob.glob(os.path.join(glob.escape(celeba_dir), folder, pattern)))
        if files:
            return files
    raise DatasetError(f"{celeba_dir} has no img_align_celeba_png/*.png nor img_align_celeba/*.jpg images")


def celeba_crop(cx, cy):
    """The preparation of a CelebA image (for `image_files.load`): the RGB 128x128 square centred at (cx, cy), as
    uint8 `[3, 128, 128]`; images that are not 178x218 are refused."""
    box = (cx - 64, cy - 64, cx + 64, cy + 64)
    if box[0] < 0 or box[1] < 0 or box[2] > CELEBA_SIZE[0] or box[3] > CELEBA_SIZE[1]:
        raise DatasetError(f"--cx={cx} --cy={cy}: the 128x128 crop must lie inside the 178x218 image")

    def prepare(image):
        if image.size != CELEBA_SIZE:
            return None, f"expected 178x218 aligned CelebA image, found {image.size[0]}x{image.size[1]}"
        return np.asarray(image.convert("RGB").crop(box)).transpose(2, 0, 1), ()

    return prepare
