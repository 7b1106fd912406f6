"""Creates datasets in the official multi-resolution TFRecord format (see `training.dataset`) and inspects them.

Command line: `stylegan-dataset <command> <arguments> [--flags]`, or `python -m training.dataset_tool ...`;
`--help` lists the commands and `<command> --help` describes one. From Python, call the command functions
directly (`create_mnist(tfrecord_dir, mnist_dir, split="all")` ...): their keyword arguments are the flags, and
they raise `DatasetError` on bad input. Output directories are written atomically: into a hidden temporary
directory beside the target, renamed into place only when complete.
"""
import codecs
import collections
import dataclasses
import functools
import glob
import gzip
import inspect
import itertools
import math
import os
import pickle
import shutil
import struct
import sys
import tempfile
import textwrap

import numpy as np
import PIL.Image
import tensorflow as tf
from absl import app, flags

from training import _image_files
from training._progress import Progress
from training.dataset import DatasetError, TFRecordDataset, require_dir

_DEFAULT_THREADS = min(8, os.cpu_count() or 1)


# ----------------------------------------------------------------------------------------------------------------------
# Writing the format.

def shuffled_order(num_images):
    """The official record order: `np.random.RandomState(123)`'s permutation of `range(num_images)`."""
    return np.random.RandomState(123).permutation(num_images)


def downscale_2x(image):
    """The official 2x2 box filter: `[C, H, W]` -> float32 `[C, H/2, W/2]`, (sum of the 4 pixels) * 0.25.

    The pyramid applies it to the unrounded float32 result of the level above; each level is stored as
    `np.rint(level).clip(0, 255).astype(np.uint8)`.
    """
    image = image.astype(np.float32, copy=False)
    return (image[:, 0::2, 0::2] + image[:, 0::2, 1::2] + image[:, 1::2, 0::2] + image[:, 1::2, 1::2]) * 0.25


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _map_entry(key, feature):
    return _field(1, _field(1, key) + _field(2, feature))


def serialize_image(image):
    """uint8 `[C, H, W]` -> a serialized `tf.train.Example` with features `shape` [C, H, W] and `data` (CHW bytes).

    Encoded by hand with the map entries in the official tool's order (`shape`, then `data`): protobuf serializes
    a map in an order that can change from one process to the next, and datasets must be byte-identical.
    """
    shape = _field(3, _field(1, b"".join(_varint(int(d)) for d in image.shape)))  # Feature.int64_list (packed)
    data = _field(1, _field(1, np.ascontiguousarray(image).tobytes()))  # Feature.bytes_list
    return _field(1, _map_entry(b"shape", shape) + _map_entry(b"data", data))


class _OutputDir:
    """A directory that appears at `path` complete or not at all.

    `open()` creates a hidden temporary directory beside `path` (creating missing parents); `commit()` renames it
    to `path`, replacing what was there (refused at construction unless `overwrite`); `discard()` deletes it and
    any parents it created. Usable as a context manager yielding the temporary directory.
    """

    def __init__(self, path, overwrite=False):
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self.temp = None
        self._created_parent = None
        if os.path.lexists(self.path) and not overwrite and not _is_empty_dir(self.path):
            raise DatasetError(f"{path} already exists; pass --overwrite to replace it (the old one is kept until "
                               f"the new one is complete)")

    def open(self):
        parent, name = os.path.split(self.path)
        missing = parent
        while not os.path.exists(os.path.dirname(missing)):
            missing = os.path.dirname(missing)
        self._created_parent = missing if not os.path.exists(missing) else None
        os.makedirs(parent, exist_ok=True)
        self.temp = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.temp, 0o777 & ~umask)  # mkdtemp makes it private; the result should be an ordinary directory
        return self.temp

    def commit(self):
        if os.path.lexists(self.path):
            parent, name = os.path.split(self.path)
            trash = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.rename(self.path, os.path.join(trash, name))
            os.rename(self.temp, self.path)
            shutil.rmtree(trash)
        else:
            os.rename(self.temp, self.path)

    def discard(self):
        if self.temp:
            shutil.rmtree(self._created_parent or self.temp, ignore_errors=True)

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _is_empty_dir(path):
    return os.path.isdir(path) and not os.listdir(path)


class TFRecordExporter:
    """Writes a dataset directory in the official format (official class name, methods and file names).

        with TFRecordExporter(tfrecord_dir, expected_images) as tfr:
            for idx in tfr.choose_shuffled_order():
                tfr.add_image(images[idx])         # uint8 [C, H, W], C = 1 or 3, H = W = 2**k >= 4
            tfr.add_labels(labels[order])          # optional, [num_images, label_size]

    Files are `<basename(tfrecord_dir)>-rNN.tfrecords` (uncompressed) and `-rxx.labels`, written to a temporary
    directory that replaces `tfrecord_dir` only if the block ends without error and at least one image was added.
    """

    def __init__(self, tfrecord_dir, expected_images, overwrite=False, print_progress=True):
        self.tfrecord_dir = tfrecord_dir
        self.expected_images = expected_images
        self.cur_images = 0
        self.shape = None
        self.resolution_log2 = None
        self.label_size = 0
        self._output = _OutputDir(tfrecord_dir, overwrite)
        self._prefix = None
        self._writers = []
        self._progress = Progress(expected_images, "Writing") if print_progress else None

    def __enter__(self):
        self._prefix = os.path.join(self._output.open(), os.path.basename(self._output.path))
        return self

    def __exit__(self, exc_type, exc, traceback):
        self.close()
        if exc_type is None and self.cur_images == 0:
            self._output.discard()
            raise DatasetError(f"no images to write; {self.tfrecord_dir} was not created")
        if exc_type is None:
            self._output.commit()
        else:
            self._output.discard()

    def choose_shuffled_order(self):
        """The official shuffled order of `expected_images` indices; add images (and labels) in this order."""
        return shuffled_order(self.expected_images)

    def add_image(self, img):
        """Appends one uint8 `[C, H, W]` image to every level: level k+1 is `downscale_2x` of level k (unrounded)."""
        img = np.asarray(img)
        if self.shape is None:
            self._open_writers(img.shape)
        if img.shape != self.shape or img.dtype != np.uint8:
            raise DatasetError(f"image {self.cur_images} is {img.dtype} {list(img.shape)}; all images must be uint8 "
                               f"{list(self.shape)} like the first one")
        level, quantized = img, img
        for lod, writer in enumerate(self._writers):
            if lod:
                level = downscale_2x(level)
                quantized = np.rint(level).clip(0, 255).astype(np.uint8)
            writer.write(serialize_image(quantized))
        self.cur_images += 1
        if self._progress:
            self._progress.update()

    def add_labels(self, labels):
        """Writes `-rxx.labels`: float32 `[cur_images, label_size]`, row i labelling image i."""
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[0] != self.cur_images:
            raise DatasetError(f"labels of shape {list(labels.shape)} do not match the {self.cur_images} images "
                               f"written; expected [{self.cur_images}, label_size]")
        with open(self._prefix + "-rxx.labels", "wb") as file:
            np.save(file, labels.astype(np.float32))
        self.label_size = labels.shape[1]

    def close(self):
        for writer in self._writers:
            writer.close()
        self._writers = []
        if self._progress:
            self._progress.close()
            self._progress = None

    def _open_writers(self, shape):
        if len(shape) != 3 or shape[0] not in (1, 3) or shape[1] != shape[2] or shape[1] < 4 \
                or shape[1] & (shape[1] - 1):
            raise DatasetError(f"images of shape {list(shape)} cannot be stored: expected [C, H, W] with C = 1 or 3 "
                               f"and H = W a power of two >= 4")
        self.shape = tuple(shape)
        self.resolution_log2 = int(np.log2(shape[1]))
        self._writers = [tf.io.TFRecordWriter(f"{self._prefix}-r{self.resolution_log2 - lod:02d}.tfrecords")
                         for lod in range(self.resolution_log2 - 1)]


# ----------------------------------------------------------------------------------------------------------------------
# Shared steps of the create commands.

def _report(tfr, skipped=None, notes=None):
    """Prints what a finished export wrote, what was converted and what was skipped (and why)."""
    resolution = 2 ** tfr.resolution_log2
    labels = f"labels of size {tfr.label_size}" if tfr.label_size else "no labels"
    print(f"Wrote {tfr.cur_images} images to {tfr.tfrecord_dir}: {resolution}x{resolution}, {tfr.shape[0]} "
          f"channel(s), levels r{tfr.resolution_log2:02d} to r02, {labels}.")
    if notes:
        print("Converted: " + ", ".join(f"{count} {note}" for note, count in notes.most_common()) + ".")
    if skipped:
        print(f"Skipped {len(skipped)} file(s):")
        shown = sorted(skipped.items())
        for name, reason in shown[:20]:
            print(f"  {name}: {reason}")
        if len(shown) > 20:
            print(f"  ... and {len(shown) - 20} more")


def _subset(labels, num_images, max_images):
    """Indices (ascending) of the images to keep: all, or `max_images` of them, class-balanced for one-hot labels.

    Balanced means round-robin over the classes in source order: the first image of each class, then the second ...
    """
    if max_images is None or max_images >= num_images:
        return np.arange(num_images)
    if labels is None or not _is_one_hot(labels):
        return np.arange(max_images)
    classes = np.argmax(labels, axis=1)
    by_class = np.argsort(classes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(classes))[:-1]])
    rank = np.empty(num_images, np.int64)
    rank[by_class] = np.arange(num_images) - starts[classes[by_class]]
    return np.sort(np.lexsort((np.arange(num_images), rank))[:max_images])


def _is_one_hot(labels):
    return bool(np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1))


def _one_hot(class_ids, num_classes):
    labels = np.zeros([len(class_ids), num_classes], np.float32)
    labels[np.arange(len(class_ids)), class_ids] = 1.0
    return labels


def _export_arrays(tfrecord_dir, images, labels, *, shuffle, max_images, overwrite):
    """Writes `images` (uint8 `[N, C, H, W]`, numpy or h5py) with `labels` (`[N, L]` or None) in shuffled order."""
    keep = _subset(labels, len(images), max_images)
    order = keep[shuffled_order(len(keep))] if shuffle else keep
    with TFRecordExporter(tfrecord_dir, len(order), overwrite=overwrite) as tfr:
        for index in order:
            tfr.add_image(images[index])
        if labels is not None:
            tfr.add_labels(labels[order])
    _report(tfr)


def _export_encoded(tfrecord_dir, sources, num_sources, prepare, *, strict, num_threads, overwrite, skipped):
    """Decodes `(name, path_or_bytes)` pairs (in their final order) in parallel with `prepare` and writes them.

    Undecodable images are added to `skipped` (name -> reason), or with `strict` stop everything.
    """
    notes = collections.Counter()
    with TFRecordExporter(tfrecord_dir, num_sources, overwrite=overwrite) as tfr:
        decoded = _image_files.parallel_map(lambda item: (item[0], *_image_files.load(item[1], prepare)), sources,
                                            num_threads)
        for name, array, info in decoded:
            if array is None:
                if strict:
                    raise DatasetError(f"{name}: {info}; stopped by --strict, nothing was written")
                skipped[name] = info
                continue
            notes.update(info)
            tfr.add_image(array)
    _report(tfr, skipped, notes)


def _find_file(directory, *names):
    """The first of `names` that exists in `directory`; DatasetError listing them otherwise."""
    require_dir(directory, "source directory")
    for name in names:
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise DatasetError(f"{directory} has none of: {', '.join(names)}")


def _read_idx(path):
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


def _numpy_reconstructors():
    """The functions numpy arrays pickle through, under the module names numpy 1 and numpy 2 use for them."""
    found = {}
    for function in (np.zeros(1).__reduce__()[0], np.zeros(1).__reduce_ex__(5)[0]):
        for module in ("numpy.core", "numpy._core"):
            found[f"{module}.{function.__module__.rsplit('.', 1)[-1]}", function.__name__] = function
    return found


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only containers, numbers, strings and numpy arrays: data files cannot run code."""

    _ALLOWED = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles written by Python 3 rebuild bytes
        **_numpy_reconstructors(),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return self._ALLOWED[module, name]


def _load_pickle(path):
    """A pickled data file (CIFAR, SVHN) read with `_ArrayUnpickler`; dict keys decoded to str."""
    try:
        with open(path, "rb") as file:
            data = _ArrayUnpickler(file, encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None
    if isinstance(data, dict):
        data = {key.decode() if isinstance(key, bytes) else key: value for key, value in data.items()}
    return data


def _check_images(images, shape, source):
    if images.ndim != 4 or images.shape[1:] != shape or images.dtype != np.uint8:
        raise DatasetError(f"{source}: expected uint8 images [N, {', '.join(map(str, shape))}], found "
                           f"{images.dtype} {list(images.shape)}")


def _check_labels(class_ids, num_images, num_classes, source):
    if class_ids.shape != (num_images,) or class_ids.min() < 0 or class_ids.max() >= num_classes:
        raise DatasetError(f"{source}: expected {num_images} class labels in [0, {num_classes}), found "
                           f"{class_ids.shape[0]} in [{class_ids.min()}, {class_ids.max()}]")


_SPLITS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


# ----------------------------------------------------------------------------------------------------------------------
# Commands. Their docstrings are the command-line help; keyword arguments are the flags of the same name.

def _creates_dataset(function):
    """Decorator of the create commands: refuses an existing output before any work (reading sources) starts."""
    @functools.wraps(function)
    def create(tfrecord_dir, *args, overwrite=False, **kwargs):
        _OutputDir(tfrecord_dir, overwrite)
        return function(tfrecord_dir, *args, overwrite=overwrite, **kwargs)
    return create


@_creates_dataset
def create_from_images(tfrecord_dir, image_dir, *, resize=None, crop=False, channels=None, shuffle=True,
                       max_images=None, strict=False, num_threads=_DEFAULT_THREADS, overwrite=False):
    """Dataset from a folder of images (PNG, JPEG, BMP, WebP, ... anything Pillow reads; no labels).

    Every file directly inside the folder is used (hidden files excluded), in sorted order before shuffling.
    Images must share one square power-of-two size unless --resize/--crop say how to make them so. Grayscale,
    palette, RGBA (alpha flattened onto black), CMYK and 16-bit images are converted to --channels (default: 1 if
    all images are grayscale, else 3). Files that are not images or are corrupt are skipped and listed in the
    summary (--strict makes them an error).
    """
    if channels not in (None, 1, 3):
        raise DatasetError(f"--channels={channels}: must be 1 (grayscale) or 3 (RGB)")
    files = _image_files.list_files(image_dir)
    skipped = {}
    probes = []
    with Progress(len(files), "Checking", unit="file") as progress:
        for path, found in zip(files, _image_files.parallel_map(_image_files.probe, files, num_threads)):
            progress.update()
            if isinstance(found, str):
                skipped[os.path.basename(path)] = found
            else:
                probes.append(found)
    if skipped and strict:
        name, reason = min(skipped.items())
        raise DatasetError(f"{len(skipped)} unusable file(s) in {image_dir}, e.g. {name}: {reason}; stopped by "
                           f"--strict, nothing was written")
    if not probes:
        name, reason = min(skipped.items())
        raise DatasetError(f"no usable images in {image_dir}: none of its {len(skipped)} file(s) can be read, "
                           f"e.g. {name}: {reason}")
    probes = probes[:max_images]
    resolution = _image_files.choose_resolution(probes, resize, crop)
    if channels is None:
        channels = 1 if all(_image_files.is_grayscale(p.mode) for p in probes) else 3
    prepare = _image_files.Converter(resolution, channels, crop=crop, scale=resize is not None)
    order = shuffled_order(len(probes)) if shuffle else range(len(probes))
    sources = ((os.path.basename(probes[i].path), probes[i].path) for i in order)
    _export_encoded(tfrecord_dir, sources, len(probes), prepare, strict=strict, num_threads=num_threads,
                    overwrite=overwrite, skipped=skipped)


@_creates_dataset
def create_mnist(tfrecord_dir, mnist_dir, *, split="train", max_images=None, shuffle=True, overwrite=False):
    """MNIST or Fashion-MNIST from the IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz and for
    --split=test/all t10k-*.gz; uncompressed files work too).

    Images are zero-padded from 28x28 to 32x32 (1 channel), labels one-hot over the 10 classes, as official.
    The official tool uses the training split (60,000 images); --split=all adds the test split (70,000).
    """
    prefixes = {"train": "train", "test": "t10k"}
    images, class_ids = [], []
    for part in _SPLITS[split]:
        names = [f"{prefixes[part]}-{kind}-idx{ndim}-ubyte" for kind, ndim in (("images", 3), ("labels", 1))]
        part_images, part_labels = (_read_idx(_find_file(mnist_dir, name + ".gz", name)) for name in names)
        if part_images.ndim != 3 or part_images.shape[1:] != (28, 28):
            raise DatasetError(f"{mnist_dir}: {names[0]} holds {list(part_images.shape)}, expected [N, 28, 28]")
        _check_labels(part_labels.astype(np.int64), len(part_images), 10, f"{mnist_dir}: {names[1]}")
        images.append(part_images)
        class_ids.append(part_labels)
    images = np.pad(np.concatenate(images)[:, np.newaxis], [(0, 0), (0, 0), (2, 2), (2, 2)])
    labels = _one_hot(np.concatenate(class_ids), 10)
    _export_arrays(tfrecord_dir, images, labels, shuffle=shuffle, max_images=max_images, overwrite=overwrite)


def _create_cifar(tfrecord_dir, source_dir, files, label_key, num_classes, shuffle, max_images, overwrite):
    images, class_ids = [], []
    for name in files:
        data = _load_pickle(_find_file(source_dir, name))
        if not isinstance(data, dict) or "data" not in data or label_key not in data:
            raise DatasetError(f"{os.path.join(source_dir, name)} is not a CIFAR batch (no 'data'/'{label_key}')")
        images.append(np.asarray(data["data"], np.uint8).reshape(-1, 3, 32, 32))
        class_ids.append(np.asarray(data[label_key], np.int64))
    images, class_ids = np.concatenate(images), np.concatenate(class_ids)
    _check_labels(class_ids, len(images), num_classes, source_dir)
    _export_arrays(tfrecord_dir, images, _one_hot(class_ids, num_classes), shuffle=shuffle, max_images=max_images,
                   overwrite=overwrite)


@_creates_dataset
def create_cifar10(tfrecord_dir, cifar10_dir, *, split="train", max_images=None, shuffle=True, overwrite=False):
    """CIFAR-10 from the Python version's batches (the extracted cifar-10-batches-py folder).

    32x32 RGB, one-hot labels over 10 classes. The official tool uses the training split (data_batch_1..5, 50,000
    images); --split=all adds test_batch (60,000).
    """
    files = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    _create_cifar(tfrecord_dir, cifar10_dir, [f for part in _SPLITS[split] for f in files[part]], "labels", 10,
                  shuffle, max_images, overwrite)


@_creates_dataset
def create_cifar100(tfrecord_dir, cifar100_dir, *, split="train", max_images=None, shuffle=True, overwrite=False):
    """CIFAR-100 from the Python version (the extracted cifar-100-python folder: files train, test).

    32x32 RGB, one-hot fine labels over 100 classes. The official tool uses the training split (50,000 images).
    """
    _create_cifar(tfrecord_dir, cifar100_dir, list(_SPLITS[split]), "fine_labels", 100, shuffle, max_images,
                  overwrite)


@_creates_dataset
def create_svhn(tfrecord_dir, svhn_dir, *, max_images=None, shuffle=True, overwrite=False):
    """SVHN training digits: the official tool's train_1.pkl .. train_3.pkl, or the standard train_32x32.mat.

    32x32 RGB, one-hot labels over 10 classes (digit 0 is class 0). Reading .mat files needs scipy.
    """
    require_dir(svhn_dir, "source directory")
    mat_file = os.path.join(svhn_dir, "train_32x32.mat")
    if os.path.isfile(mat_file):
        try:
            import scipy.io
        except ImportError:
            raise DatasetError("reading train_32x32.mat needs scipy: pip install scipy") from None
        try:
            data = scipy.io.loadmat(mat_file)
        except (OSError, ValueError) as error:
            raise DatasetError(f"cannot read {mat_file}: {error}") from None
        images = np.ascontiguousarray(data["X"].transpose(3, 2, 0, 1))
        class_ids = data["y"].reshape(-1).astype(np.int64) % 10
        source = mat_file
    else:
        parts = [_load_pickle(_find_file(svhn_dir, f"train_{i}.pkl", "train_32x32.mat")) for i in (1, 2, 3)]
        if not all(isinstance(part, (tuple, list)) and len(part) == 2 for part in parts):
            raise DatasetError(f"{svhn_dir}: train_N.pkl files must each hold a pair (images, labels)")
        images = np.concatenate([np.asarray(images) for images, _ in parts])
        class_ids = np.concatenate([np.asarray(labels, np.int64).reshape(-1) for _, labels in parts])
        source = svhn_dir
    _check_images(images, (3, 32, 32), source)
    _check_labels(class_ids, len(images), 10, source)
    _export_arrays(tfrecord_dir, images, _one_hot(class_ids, 10), shuffle=shuffle, max_images=max_images,
                   overwrite=overwrite)


@_creates_dataset
def create_lsun(tfrecord_dir, lmdb_dir, *, resolution=256, max_images=None, strict=False,
                num_threads=_DEFAULT_THREADS, overwrite=False):
    """An LSUN category from its LMDB folder (e.g. bedroom_train_lmdb), in stored order as official.

    Each image is center-cropped to a square and resized to --resolution (Lanczos). Undecodable entries are skipped
    and listed (--strict makes them an error). Needs the lmdb package: pip install 'stylegan-tf[lsun]'.
    """
    try:
        import lmdb
    except ImportError:
        raise DatasetError("create_lsun needs the lmdb package: pip install 'stylegan-tf[lsun]' "
                           "(or pip install lmdb)") from None
    require_dir(lmdb_dir, "LMDB directory")
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError(f"--resolution={resolution}: must be a power of two >= 4")
    try:
        env = lmdb.open(lmdb_dir, readonly=True, lock=False, readahead=False)
    except lmdb.Error as error:
        raise DatasetError(f"cannot open LMDB {lmdb_dir}: {error}") from None
    with env, env.begin(write=False) as txn:
        total = txn.stat()["entries"] if max_images is None else min(max_images, txn.stat()["entries"])
        entries = ((key.decode("ascii", "replace"), bytes(value))
                   for key, value in itertools.islice(txn.cursor(), total))
        prepare = _image_files.Converter(resolution, 3, crop=True, scale=True)
        _export_encoded(tfrecord_dir, entries, total, prepare, strict=strict, num_threads=num_threads,
                        overwrite=overwrite, skipped={})


@_creates_dataset
def create_celeba(tfrecord_dir, celeba_dir, *, cx=89, cy=121, max_images=None, shuffle=True, strict=False,
                  num_threads=_DEFAULT_THREADS, overwrite=False):
    """CelebA aligned faces (img_align_celeba_png/*.png as official, or the standard img_align_celeba/*.jpg).

    Each 178x218 image is cropped to the 128x128 square centred at (--cx, --cy), RGB, no labels. Unusable files
    are skipped and listed (--strict makes them an error).
    """
    require_dir(celeba_dir, "CelebA directory")
    files = []
    for folder, pattern in (("img_align_celeba_png", "*.png"), ("img_align_celeba", "*.jpg")):
        files = sorted(glob.glob(os.path.join(glob.escape(celeba_dir), folder, pattern)))
        if files:
            break
    if not files:
        raise DatasetError(f"{celeba_dir} has no img_align_celeba_png/*.png nor img_align_celeba/*.jpg images")
    files = files[:max_images]
    box = (cx - 64, cy - 64, cx + 64, cy + 64)
    if box[0] < 0 or box[1] < 0 or box[2] > 178 or box[3] > 218:
        raise DatasetError(f"--cx={cx} --cy={cy}: the 128x128 crop must lie inside the 178x218 image")

    def prepare(image):
        if image.size != (178, 218):
            return None, f"expected 178x218 aligned CelebA image, found {image.size[0]}x{image.size[1]}"
        return np.asarray(image.convert("RGB").crop(box)).transpose(2, 0, 1), ()

    order = shuffled_order(len(files)) if shuffle else range(len(files))
    sources = ((os.path.basename(files[i]), files[i]) for i in order)
    _export_encoded(tfrecord_dir, sources, len(files), prepare, strict=strict, num_threads=num_threads,
                    overwrite=overwrite, skipped={})


@_creates_dataset
def create_from_hdf5(tfrecord_dir, hdf5_filename, *, max_images=None, shuffle=True, overwrite=False):
    """Dataset from a ProGAN HDF5 file (datasets data4x4 ... dataNxN of uint8 NCHW images; the largest is used).

    Labels are read from <hdf5 name>-labels.npy beside it when present, as official.
    """
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
        _export_arrays(tfrecord_dir, images, labels, shuffle=shuffle, max_images=max_images, overwrite=overwrite)


def _open_dataset(tfrecord_dir):
    """The dataset in stored order, once through, with all label components."""
    return TFRecordDataset(tfrecord_dir, max_label_size="full", repeat=False, shuffle_mb=0, prefetch_mb=0)


def _stored_images(dataset, lod=0):
    """Yields `(image [C, H, W], label [label_size])` numpy pairs in stored order.

    (Batches are split in numpy: tf.data's `unbatch` crashes TF 2.21 on the zero-size labels of unlabeled data.)
    """
    for images, labels in dataset.make_dataset(lod, 256).as_numpy_iterator():
        yield from zip(images, labels)


def _to_pil(image):
    """uint8 `[C, H, W]` -> PIL image (L or RGB)."""
    return PIL.Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))


def display(tfrecord_dir, *, output=None, lod=0, max_images=64, overwrite=False):
    """Writes the first images of a dataset as one PNG grid (this machine has no screen to show them on).

    The grid has the stored order, row by row, at level --lod (0 = full resolution). Class labels of the shown
    images are printed in the same layout.
    """
    dataset = _open_dataset(tfrecord_dir)
    if not 0 <= lod < len(dataset.level_resolutions):
        raise DatasetError(f"--lod={lod}: {dataset.name} has levels 0 to {len(dataset.level_resolutions) - 1}")
    output = output or f"{dataset.name}-display.png"
    if os.path.lexists(output) and not overwrite:
        raise DatasetError(f"{output} already exists; pass --overwrite to replace it or --output to choose a name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise DatasetError(f"--output={output}: the folder {os.path.dirname(os.path.abspath(output))} does not exist")
    images, labels = next(iter(dataset.make_dataset(lod, min(max_images, dataset.num_images))))
    images, labels = images.numpy(), labels.numpy()
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    channels, height, width = images.shape[1:]
    grid = np.zeros([channels, rows * height, columns * width], np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        grid[:, row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    handle, temp = tempfile.mkstemp(suffix=".png", dir=os.path.dirname(os.path.abspath(output)))
    with os.fdopen(handle, "wb") as file:
        _to_pil(grid).save(file, format="PNG")
    os.replace(temp, output)
    print(f"Wrote {len(images)} images of {dataset.name} ({width}x{height}, lod {lod}) as a {columns}x{rows} grid "
          f"to {output}")
    if dataset.label_size:
        print("Class of each image, in grid layout:")
        classes = np.argmax(labels, axis=1)
        for row in range(rows):
            print("  " + " ".join(f"{c:3d}" for c in classes[row * columns:(row + 1) * columns]))


def extract(tfrecord_dir, output_dir, *, max_images=None, overwrite=False):
    """Writes the full-resolution images of a dataset as PNG files img00000000.png, ... in stored order."""
    dataset = _open_dataset(tfrecord_dir)
    total = dataset.num_images if max_images is None else min(max_images, dataset.num_images)
    with _OutputDir(output_dir, overwrite) as temp, Progress(total, "Extracting") as progress:
        for index, (image, _) in enumerate(itertools.islice(_stored_images(dataset), total)):
            _to_pil(image).save(os.path.join(temp, f"img{index:08d}.png"))
            progress.update()
    print(f"Wrote {total} PNG images ({dataset.resolution}x{dataset.resolution}) to {output_dir}")


def compare(tfrecord_dir_a, tfrecord_dir_b, *, ignore_labels=False):
    """Compares two datasets image by image (full resolution) and label by label; exit status 1 if they differ."""
    a, b = _open_dataset(tfrecord_dir_a), _open_dataset(tfrecord_dir_b)
    print(f"A: {tfrecord_dir_a}: {a.num_images} images {a.shape}, label size {a.label_size}")
    print(f"B: {tfrecord_dir_b}: {b.num_images} images {b.shape}, label size {b.label_size}")
    if a.shape != b.shape:
        print("The datasets have different image shapes.")
        return 1
    compare_labels = not ignore_labels and a.label_size == b.label_size
    same_images = same_labels = count = 0
    for (image_a, label_a), (image_b, label_b) in zip(_stored_images(a), _stored_images(b)):
        count += 1
        same_images += np.array_equal(image_a, image_b)
        same_labels += compare_labels and np.array_equal(label_a, label_b)
    print(f"Identical images: {same_images} of {count} compared")
    identical = a.num_images == b.num_images and same_images == count
    if not ignore_labels:
        if compare_labels:
            print(f"Identical labels: {same_labels} of {count} compared")
        else:
            print(f"Labels differ in size ({a.label_size} vs {b.label_size})")
        identical = identical and compare_labels and same_labels == count
    print("The datasets are identical." if identical else "The datasets differ.")
    return 0 if identical else 1


def info(tfrecord_dir):
    """Describes a dataset: resolution, channels, levels and their files, number of images, labels."""
    dataset = _open_dataset(tfrecord_dir)
    print(f"Dataset {dataset.name} in {dataset.tfrecord_dir}")
    print(f"  images:     {dataset.num_images}, {dataset.resolution}x{dataset.resolution}, "
          f"{dataset.num_channels} channel(s), uint8 NCHW")
    print("  levels:")
    for lod, resolution in enumerate(dataset.level_resolutions):
        path = dataset.level_files[lod]
        print(f"    lod {lod}: {resolution:4d}x{resolution:<4d} {os.path.basename(path)} "
              f"({os.path.getsize(path) / 2**20:.1f} MiB)")
    if not dataset.label_size:
        print("  labels:     none")
        return
    labels = np.load(dataset.label_file)
    print(f"  labels:     {os.path.basename(dataset.label_file)}, size {dataset.label_size}")
    if _is_one_hot(labels):
        counts = np.bincount(np.argmax(labels, axis=1), minlength=dataset.label_size)
        print(f"  classes:    {', '.join(f'{c}: {n}' for c, n in enumerate(counts))}")


# ----------------------------------------------------------------------------------------------------------------------
# Command line.

@dataclasses.dataclass(frozen=True)
class _Command:
    function: object
    example: str

    @property
    def args(self):
        """Positional arguments: the function's parameters without defaults."""
        return [p.name for p in inspect.signature(self.function).parameters.values() if p.default is p.empty]

    @property
    def flags(self):
        """Applicable flags and their defaults: the function's keyword-only parameters."""
        return {p.name: p.default for p in inspect.signature(self.function).parameters.values()
                if p.kind is p.KEYWORD_ONLY}


_COMMANDS = {command.function.__name__: command for command in [
    _Command(create_from_images, "datasets/faces ~/photos/faces --resize=256 --crop"),
    _Command(create_mnist, "datasets/fashion_mnist /usr/share/datasets/fashion-mnist --split=all"),
    _Command(create_cifar10, "datasets/cifar10 ~/downloads/cifar-10-batches-py"),
    _Command(create_cifar100, "datasets/cifar100 ~/downloads/cifar-100-python"),
    _Command(create_svhn, "datasets/svhn ~/downloads/svhn"),
    _Command(create_lsun, "datasets/lsun-bedroom ~/downloads/lsun/bedroom_train_lmdb --resolution=256"),
    _Command(create_celeba, "datasets/celeba ~/downloads/celeba"),
    _Command(create_from_hdf5, "datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5"),
    _Command(display, "datasets/fashion_mnist --output=grid.png"),
    _Command(extract, "datasets/fashion_mnist /tmp/fashion_mnist_png"),
    _Command(compare, "datasets/mine datasets/theirs"),
    _Command(info, "datasets/fashion_mnist"),
]}

_ARG_HELP = {
    "tfrecord_dir": "dataset directory (in the official multi-resolution TFRecord format)",
    "image_dir": "folder of image files",
    "mnist_dir": "folder with the IDX files",
    "cifar10_dir": "the extracted cifar-10-batches-py folder",
    "cifar100_dir": "the extracted cifar-100-python folder",
    "svhn_dir": "folder with train_32x32.mat or train_1.pkl .. train_3.pkl",
    "lmdb_dir": "LSUN LMDB folder (holding data.mdb)",
    "celeba_dir": "CelebA folder (holding img_align_celeba_png/ or img_align_celeba/)",
    "hdf5_filename": "ProGAN HDF5 file",
    "output_dir": "folder to create for the PNG files",
    "tfrecord_dir_a": "first dataset directory",
    "tfrecord_dir_b": "second dataset directory",
}
_OUTPUT_ARG_HELP = "dataset directory to create (refused if it exists and is not empty, unless --overwrite)"

_FLAGS = flags.FlagValues()  # The tool's own flags: importing this module registers nothing globally.
flags.DEFINE_integer("resize", None, "Scale every image to NxN (N a power of two) with a Lanczos filter.",
                     lower_bound=4, flag_values=_FLAGS)
flags.DEFINE_bool("crop", None, "Center-crop images to a square: before --resize, or without it to the largest "
                  "power-of-two square that fits.", flag_values=_FLAGS)
flags.DEFINE_integer("channels", None, "1 = grayscale, 3 = RGB; images are converted as needed. Unset: 1 if all "
                     "images are grayscale, else 3.", lower_bound=1, upper_bound=3, flag_values=_FLAGS)
flags.DEFINE_bool("shuffle", None, "Store the images in the official shuffled order (np.random.RandomState(123)); "
                  "--noshuffle (or --shuffle=0) keeps the source order.", flag_values=_FLAGS)
flags.DEFINE_integer("max_images", None, "Use at most N images: the first N, or from a labeled source a "
                     "class-balanced subset (round-robin over the classes in source order).", lower_bound=1,
                     flag_values=_FLAGS)
flags.DEFINE_bool("strict", None, "Stop with an error at the first unusable file instead of skipping it.",
                  flag_values=_FLAGS)
flags.DEFINE_integer("num_threads", None, "Threads decoding images in parallel.", lower_bound=1,
                     flag_values=_FLAGS)
flags.DEFINE_bool("overwrite", None, "Replace the output if it exists (only once the new one is complete).",
                  flag_values=_FLAGS)
flags.DEFINE_enum("split", None, list(_SPLITS), "Part of the source: train (as official), test, or all (both).",
                  flag_values=_FLAGS)
flags.DEFINE_integer("resolution", None, "Output resolution (a power of two).", lower_bound=4, flag_values=_FLAGS)
flags.DEFINE_integer("cx", None, "Horizontal center of the 128x128 CelebA crop.", flag_values=_FLAGS)
flags.DEFINE_integer("cy", None, "Vertical center of the 128x128 CelebA crop.", flag_values=_FLAGS)
flags.DEFINE_string("output", None, "PNG file to write (default: <dataset name>-display.png here).",
                    flag_values=_FLAGS)
flags.DEFINE_integer("lod", None, "Level of detail: 0 = full resolution, 1 = half, ...", lower_bound=0,
                     flag_values=_FLAGS)
flags.DEFINE_bool("ignore_labels", None, "Compare images only.", flag_values=_FLAGS)
_TOOL_FLAGS = sorted({name for command in _COMMANDS.values() for name in command.flags})


class _UsageError(Exception):
    """A malformed command line; the message says what is wrong."""


def _program():
    argv0 = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m training.dataset_tool" if argv0 in ("", "dataset_tool.py", "__main__.py", "-c") else argv0


def _wrap(text, indent):
    return textwrap.fill(" ".join(text.split()), width=100, initial_indent=indent, subsequent_indent=indent)


def _usage_line(name):
    return f"{_program()} {name} " + " ".join(f"<{arg}>" for arg in _COMMANDS[name].args) + " [flags]"


def general_help():
    """The text of `--help`: every command with its arguments, and examples."""
    lines = [f"usage: {_program()} <command> <arguments> [flags]", "",
             _wrap("Creates datasets in the official StyleGAN/ProGAN multi-resolution TFRecord format (one "
                   "<name>-rNN.tfrecords file per resolution, optional <name>-rxx.labels) and inspects them.", ""),
             "", "commands:"]
    for name, command in _COMMANDS.items():
        lines.append(f"  {name} " + " ".join(f"<{arg}>" for arg in command.args))
        lines.append(_wrap(inspect.getdoc(command.function).split("\n\n")[0], "      "))
    lines += ["", "examples:"]
    lines += [f"  {_program()} {name} {_COMMANDS[name].example}"
              for name in ("create_mnist", "create_from_images", "info", "display")]
    lines += ["", f"Run `{_program()} <command> --help` for the flags of a command."]
    return "\n".join(lines)


def command_help(name):
    """The text of `<command> --help`: description, arguments, flags with defaults, an example."""
    command = _COMMANDS[name]
    lines = [f"usage: {_usage_line(name)}", ""]
    lines += [_wrap(paragraph, "") + "\n" for paragraph in inspect.getdoc(command.function).split("\n\n")]
    lines.append("arguments:")
    for index, arg in enumerate(command.args):
        text = _OUTPUT_ARG_HELP if arg == "tfrecord_dir" and name.startswith("create") else _ARG_HELP[arg]
        lines.append(f"  <{arg}>".ljust(20) + text)
    if command.flags:
        lines += ["", "flags:"]
    for flag_name, default in command.flags.items():
        flag = _FLAGS[flag_name]
        if flag.flag_type() == "bool":
            form, default = f"--[no]{flag_name}", str(bool(default)).lower()
        elif flag.flag_type() == "string enum":
            form = f"--{flag_name}={'|'.join(flag.parser.enum_values)}"
        else:
            form = f"--{flag_name}={'N' if flag.flag_type() == 'int' else 'PATH'}"
        text = flag.help.split(">: ", 1)[-1]  # absl prefixes enum help with "<a|b|c>: "
        lines.append(f"  {form}")
        lines.append(_wrap(text + ("" if default is None else f" (default: {default})"), "      "))
    lines += ["", "example:", f"  {_program()} {name} {command.example}"]
    return "\n".join(lines)


def parse_command_line(argv):
    """absl flags parser: handles --help itself, parses the flags; returns `[command, *arguments]`.

    Exits with status 0 after printing help, or 2 with a one-line error for malformed flags.
    """
    words = [word for word in argv[1:] if not word.startswith("-")]
    if any(word in ("-h", "-help", "--help", "--helpshort", "--helpfull") for word in argv[1:]):
        print(command_help(words[0]) if words and words[0] in _COMMANDS else general_help())
        sys.exit(0)
    _FLAGS.unparse_flags()
    try:
        words = _FLAGS(argv)[1:]
    except flags.Error as error:
        _fail(f"{error}", usage=True)
    flags.FLAGS(argv[:1])  # absl.app requires its global flags parsed; the tool takes none of them.
    return words


def _fail(message, usage=False, status=2):
    print(f"error: {message}", file=sys.stderr)
    if usage:
        print(f"Run `{_program()} --help` for usage.", file=sys.stderr)
    sys.exit(status)


def run_command(words):
    """Runs `[command, *arguments]` with the parsed flags; returns the exit status. Raises _UsageError."""
    if not words:
        raise _UsageError("no command given")
    name, args = words[0], words[1:]
    if name not in _COMMANDS:
        raise _UsageError(f"unknown command '{name}' (commands: {', '.join(_COMMANDS)})")
    command = _COMMANDS[name]
    if len(args) != len(command.args):
        raise _UsageError(f"{name} takes {len(command.args)} argument(s): "
                          + " ".join(f"<{arg}>" for arg in command.args) + f" (got {len(args)})")
    misplaced = [f"--{flag}" for flag in _TOOL_FLAGS if _FLAGS[flag].present and flag not in command.flags]
    if misplaced:
        verb = "does" if len(misplaced) == 1 else "do"
        raise _UsageError(f"{', '.join(misplaced)} {verb} not apply to {name}; see `{_program()} {name} --help`")
    kwargs = {flag: _FLAGS[flag].value for flag in command.flags if _FLAGS[flag].present}
    return command.function(*args, **kwargs) or 0


def main(argv):
    """Entry point for `absl.app.run`: `argv` is `[command, *arguments]` from `parse_command_line`."""
    try:
        return run_command(argv)
    except _UsageError as error:
        _fail(str(error), usage=True)
    except DatasetError as error:
        _fail(str(error))
    except OSError as error:
        _fail(str(error), status=1)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was written", status=130)


def run_main():
    """Console script `stylegan-dataset`."""
    app.run(main, flags_parser=parse_command_line)


if __name__ == "__main__":
    run_main()
