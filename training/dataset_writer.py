"""Writes datasets in the official multi-resolution TFRecord format, byte for byte as NVIDIA's `dataset_tool.py` does.

The layout is described in `training.dataset`. `TFRecordExporter` (the official class name) writes one dataset
directory atomically (`stylegan_tf.fileio.AtomicDirectory`): into a hidden temporary directory beside the target,
renamed into place only when complete, deleted on any failure (a full disk included). It replaces an existing
directory only when asked to and only if that directory is a dataset (`is_dataset_dir`), never one holding the
source being read.
"""
import contextlib
import errno
import os
import re

import numpy as np
import tensorflow as tf

from stylegan_tf.errors import InputError
from stylegan_tf.fileio import AtomicDirectory
from stylegan_tf.progress import Progress
from training.dataset import DatasetError

_LEVEL_FILE = re.compile(r"(.+)-r(\d\d)\.tfrecords")


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


def is_dataset_dir(path):
    """True when the directory `path` holds exactly the files of one dataset, as this tool or NVIDIA's writes them:
    `<name>-rNN.tfrecords` for every NN from 02 to the top level, optionally `<name>-rxx.labels`, nothing else (no
    subdirectories, no links). Only such a directory may be replaced (`--overwrite`)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    if not entries or not all(entry.is_file(follow_symlinks=False) for entry in entries):
        return False
    levels = [_LEVEL_FILE.fullmatch(entry.name) for entry in entries]
    found = [match for match in levels if match]
    if not found or len({match.group(1) for match in found}) != 1:
        return False
    name, top = found[0].group(1), max(int(match.group(2)) for match in found)
    expected = {f"{name}-r{level:02d}.tfrecords" for level in range(2, top + 1)}
    return {entry.name for entry in entries} in (expected, expected | {f"{name}-rxx.labels"})


def output_directory(path, overwrite=False, protect=(), is_replaceable=is_dataset_dir, what="dataset"):
    """The `AtomicDirectory` the dataset tool writes to; checks at once (DatasetError) that `path` may be written:
    absent or empty, or with `overwrite` something it wrote (`is_replaceable`, by default a dataset), and never
    containing one of the `protect`ed paths (the source being read)."""
    try:
        return AtomicDirectory(path, overwrite, is_replaceable=is_replaceable, protect=protect, what=what)
    except InputError as error:
        raise DatasetError(str(error)) from None


class TFRecordExporter:
    """Writes a dataset directory in the official format (official class name, methods and file names).

        with TFRecordExporter(tfrecord_dir, expected_images) as tfr:
            order = tfr.choose_shuffled_order()
            for idx in order:
                tfr.add_image(images[idx])         # uint8 [C, H, W], C = 1 or 3, H = W = 2**k >= 4
            tfr.add_labels(labels[order])          # optional, [num_images, label_size]

    Files are `<basename(tfrecord_dir)>-rNN.tfrecords` (uncompressed) and `-rxx.labels`, written to a temporary
    directory that replaces `tfrecord_dir` only if the block ends without error and at least one image was added;
    on any error it is deleted. An existing `tfrecord_dir` is refused (DatasetError, at construction) unless
    `overwrite` and it is a dataset; `protect`: paths (the source) that the target must not contain. A write that
    fails (a full disk) raises one `OSError` naming the dataset.
    """

    def __init__(self, tfrecord_dir, expected_images, overwrite=False, print_progress=True, protect=()):
        self.tfrecord_dir = tfrecord_dir
        self.expected_images = expected_images
        self.cur_images = 0
        self.shape = None
        self.resolution_log2 = None
        self.label_size = 0
        self._output = output_directory(tfrecord_dir, overwrite, protect)
        self._prefix = None
        self._writers = []
        self._progress = Progress(expected_images, "Writing", enabled=print_progress)

    def __enter__(self):
        self._prefix = os.path.join(self._output.open(), os.path.basename(self._output.path))
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            with contextlib.suppress(Exception):  # the error that stopped the block is the one to report
                self.close()
            self._output.discard()
            return
        try:
            with self._writing():
                self.close()
            if self.cur_images == 0:
                raise DatasetError(f"no images to write; {self.tfrecord_dir} was not created")
            self._output.commit()
        except BaseException:
            self._output.discard()
            raise

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
        with self._writing():
            for lod, writer in enumerate(self._writers):
                if lod:
                    level = downscale_2x(level)
                    quantized = np.rint(level).clip(0, 255).astype(np.uint8)
                writer.write(serialize_image(quantized))
        self.cur_images += 1
        self._progress.update()

    def add_labels(self, labels):
        """Writes `-rxx.labels`: float32 `[cur_images, label_size]`, row i labelling image i."""
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[0] != self.cur_images:
            raise DatasetError(f"labels of shape {list(labels.shape)} do not match the {self.cur_images} images "
                               f"written; expected [{self.cur_images}, label_size]")
        with self._writing(), open(self._prefix + "-rxx.labels", "wb") as file:
            np.save(file, labels.astype(np.float32))
        self.label_size = labels.shape[1]

    def close(self):
        """Closes the level files (flushing them) and the progress line."""
        writers, self._writers = self._writers, []
        self._progress.close()
        for writer in writers:
            writer.close()

    def _open_writers(self, shape):
        if len(shape) != 3 or shape[0] not in (1, 3) or shape[1] != shape[2] or shape[1] < 4 \
                or shape[1] & (shape[1] - 1):
            raise DatasetError(f"images of shape {list(shape)} cannot be stored: expected [C, H, W] with C = 1 or 3 "
                               f"and H = W a power of two >= 4")
        self.shape = tuple(shape)
        self.resolution_log2 = int(np.log2(shape[1]))
        with self._writing():
            self._writers = [tf.io.TFRecordWriter(f"{self._prefix}-r{self.resolution_log2 - lod:02d}.tfrecords")
                             for lod in range(self.resolution_log2 - 1)]

    @contextlib.contextmanager
    def _writing(self):
        """A failed write (TensorFlow's writer raises op errors, NumPy an OSError) becomes one OSError naming the
        dataset; the temporary directory is deleted when the `with` block of the exporter ends."""
        try:
            yield
        except tf.errors.OpError as error:
            full = isinstance(error, tf.errors.ResourceExhaustedError)
            reason = os.strerror(errno.ENOSPC) if full else " ".join(error.message.split())
            raise OSError(errno.ENOSPC if full else errno.EIO, f"cannot write the dataset {self.tfrecord_dir}: "
                                                             f"{reason}; nothing was written") from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise OSError(error.errno, f"cannot write the dataset {self.tfrecord_dir}: {reason}; nothing was "
                                       f"written") from None
