"""Training data: datasets in the official multi-resolution TFRecord format, read with tf.data.

On-disk layout of a dataset directory (written by `stylegan-dataset`, see `training.dataset_writer`, or by NVIDIA's
`dataset_tool.py`):

- `<name>-rNN.tfrecords`, one file per level of detail, NN = log2 of its resolution on two digits (`r02` = 4x4 up to
  `r10` = 1024x1024). Record i of every file is image i. Each record is a `tf.train.Example` with two features:
  `shape` (int64 list `[C, H, W]`) and `data` (one bytes value: the image as uint8 in CHW order, C*H*W bytes).
  The file of resolution r/2 holds the 2x2 box-filtered downscale of the file of resolution r. Files are
  uncompressed, and all records of one file have the same shape.
- optionally `<name>-rxx.labels`: an `np.save`d float32 array `[num_images, label_size]` (one-hot rows for class
  labels); row i labels image i.

Images leave the pipeline as uint8 NCHW `[B, C, r, r]` with dynamic range [0, 255]; labels as float32
`[B, label_size]` (`label_size` may be 0). The level read at a (possibly fractional) `lod` is `floor(lod)`, i.e.
resolution `resolution / 2**floor(lod)`, as in the official training loop.

Records carry CRC32C checksums: `read_errors()` turns TensorFlow's `DataLossError` (a damaged record) into a
`DatasetError` naming the file and record, and `TFRecordDataset.verify()` checks them all up front.
"""
import contextlib
import glob
import hashlib
import math
import os
import pathlib
import re
import struct

import numpy as np
import tensorflow as tf

from stylegan_tf.errors import StyleGANError

# Bundled real data: 3,000 Fashion-MNIST training images (300 per class), 32x32, 1 channel, one-hot labels.
DEFAULT_DATASET = pathlib.Path(__file__).resolve().parent / "data" / "fashion_mnist_32"

_RECORD_OVERHEAD = 16  # TFRecord framing: uint64 length, uint32 length CRC, payload, uint32 payload CRC.


class DatasetError(StyleGANError, ValueError):
    """A dataset (or the source of one) is missing, malformed, damaged or inconsistent. The message says what and
    where."""


# ----------------------------------------------------------------------------------------------------------------------
# Record-level access.

def parse_tfrecord_np(record):
    """Decodes one serialized record into a uint8 numpy array `[C, H, W]`."""
    features = tf.train.Example.FromString(record).features.feature
    shape = tuple(features["shape"].int64_list.value)
    data = features["data"].bytes_list.value[0]
    return np.frombuffer(data, np.uint8).reshape(shape)


def _decode_batch(records, shape):
    """Serialized records `[B]` (all of the same `shape` = [C, H, W]) -> uint8 tensor `[B, C, H, W]`."""
    data = tf.io.parse_example(records, {"data": tf.io.FixedLenFeature([], tf.string)})["data"]
    return tf.reshape(tf.io.decode_raw(data, tf.uint8), [-1, *shape])


def _read_frame(file, path, index, offset, file_size):
    """Reads the length of record `index` starting at byte `offset`; raises DatasetError if it is cut short."""
    file.seek(offset)
    header = file.read(8)
    length = struct.unpack("<Q", header)[0] if len(header) == 8 else None
    if length is None or offset + length + _RECORD_OVERHEAD > file_size:
        raise DatasetError(f"{path} is truncated: record {index} (at byte {offset}) is cut short by the end of the "
                           f"file ({file_size} bytes); re-create the dataset or restore the file")
    return length


def scan_tfrecord_file(path):
    """Checks the framing of a `.tfrecords` file; returns `(first_record_bytes, num_records)`.

    Records of a level all have the same size, so a file is normally checked in O(1) from its size; otherwise every
    record header is walked. A truncated file raises DatasetError naming the file and the first incomplete record.
    """
    file_size = os.path.getsize(path)
    if file_size == 0:
        raise DatasetError(f"{path} is empty (0 records)")
    with open(path, "rb") as file:
        length = _read_frame(file, path, 0, 0, file_size)
        file.seek(12)
        first = file.read(length)
        frame = length + _RECORD_OVERHEAD
        count = file_size // frame
        if file_size % frame == 0 and _read_frame(file, path, count - 1, (count - 1) * frame, file_size) == length:
            return first, count
        offset, count = 0, 0
        while offset < file_size:
            offset += _read_frame(file, path, count, offset, file_size) + _RECORD_OVERHEAD
            count += 1
    return first, count


def _op_message(error):
    """The readable part of a TensorFlow op error, without its `{{function_node ...}}` and `[Op:...]` decorations."""
    return " ".join(re.sub(r"\{\{.*?\}\}|\[Op:.*$", "", error.message).split())


def _damaged_record(path, error):
    """`(record index or None, byte offset or None)` of the record a `DataLossError` reports in the file `path`:
    TensorFlow gives the offset of the record (bad length checksum) or of its payload, 12 bytes further."""
    match = re.search(r"record at (\d+)", error.message)
    if not match:
        return None, None
    offset = int(match.group(1))
    with open(path, "rb") as file:
        frame = _read_frame(file, path, 0, 0, os.path.getsize(path)) + _RECORD_OVERHEAD
    index, rest = divmod(offset, frame)
    return (index, offset - rest) if rest in (0, 12) else (None, offset)


def verify_tfrecord_file(path, max_records=None, progress=None):
    """Reads the records of a `.tfrecords` file (all, or the first `max_records`) checking their CRC32C checksums;
    returns how many were read. A damaged record raises DatasetError naming the file and the record.

    `progress`: an optional `stylegan_tf.progress.Progress`, advanced by the number of records read.
    """
    records = tf.data.TFRecordDataset(path, buffer_size=16 << 20)
    if max_records is not None:
        records = records.take(max_records)
    count = 0
    try:
        for num_records in records.batch(4096).map(tf.size):  # reading checks the checksums
            count += int(num_records)
            if progress is not None:
                progress.update(int(num_records))
    except tf.errors.DataLossError as error:
        index, offset = _damaged_record(path, error)
        where = f"record {index} (at byte {offset})" if index is not None else f"a record ({_op_message(error)})"
        raise DatasetError(f"{path} is damaged: {where} fails its checksum; re-create the dataset (or restore the "
                           f"file)") from None
    return count


# ----------------------------------------------------------------------------------------------------------------------
# The interface of every dataset object.

class BaseDataset:
    """Attributes and methods common to TFRecordDataset and `training.synthetic_dataset.SyntheticDataset`.

    Subclasses pass the common attributes to `__init__` and implement `make_dataset`. `_np_labels` is the float32
    table `[rows, label_size]` that random labels are drawn from.
    """

    def __init__(self, name, num_channels, resolution, dtype, dynamic_range, np_labels):
        self.name = name
        self.resolution = int(resolution)
        self.resolution_log2 = int(np.log2(self.resolution))
        self.num_channels = int(num_channels)
        self.shape = [self.num_channels, self.resolution, self.resolution]
        self.dtype = dtype
        self.dynamic_range = list(dynamic_range)
        self.label_size = int(np_labels.shape[1])
        self.label_dtype = "float32"
        self.level_resolutions = [self.resolution >> lod for lod in range(self.resolution_log2 - 1)]  # [R, ..., 4]
        self._np_labels = np_labels.astype(np.float32)
        self._tf_labels = None
        self._np_iterators = {}

    def level(self, lod):
        """The integer level read at `lod` (`floor(lod)`); raises ValueError outside `[0, len(level_resolutions))`."""
        level = int(math.floor(lod))
        if not 0 <= level < len(self.level_resolutions):
            raise ValueError(f"lod {lod} is out of range for dataset '{self.name}': its levels are lod 0 to "
                             f"{len(self.level_resolutions) - 1} (resolutions {self.level_resolutions})")
        return level

    def make_dataset(self, lod, batch_size, seed=None, input_context=None):
        """`(images [B, C, r, r], labels float32 [B, label_size])` at `lod`; see the subclasses."""
        raise NotImplementedError

    def distribute(self, strategy, lod, global_batch_size, seed=None):
        """A distributed dataset of `(images, labels)` for `strategy`, per-replica batch = global / replicas.

        Built with `strategy.distribute_datasets_from_function`: each input pipeline (one per worker) calls
        `make_dataset` with its `tf.distribute.InputContext`, which shards the records between pipelines.
        """
        replicas = strategy.num_replicas_in_sync
        if global_batch_size % replicas:
            raise ValueError(f"global batch size {global_batch_size} is not divisible by the {replicas} replicas "
                             f"of {type(strategy).__name__}")

        def dataset_fn(input_context):
            per_replica = input_context.get_per_replica_batch_size(global_batch_size)
            return self.make_dataset(lod, per_replica, seed=seed, input_context=input_context)

        return strategy.distribute_datasets_from_function(dataset_fn)

    def get_minibatch_np(self, n, lod=0):
        """The next minibatch at `lod` as numpy `(images [n, C, r, r], labels [n, label_size])`.

        One iterator per `(level, n)` is kept, so successive calls continue through the data.
        """
        key = (self.level(lod), int(n))
        if key not in self._np_iterators:
            self._np_iterators[key] = iter(self.make_dataset(key[0], key[1]))
        with self.read_errors():
            images, labels = next(self._np_iterators[key])
        return images.numpy(), labels.numpy()

    @contextlib.contextmanager
    def read_errors(self):
        """Inside the block (around the loop drawing batches from `make_dataset`/`distribute`), TensorFlow's
        `DataLossError` (a damaged record) becomes a `DatasetError` naming the file and record."""
        try:
            yield
        except tf.errors.DataLossError as error:
            raise DatasetError(self._data_loss_message(error)) from None

    def _data_loss_message(self, error):
        return f"dataset {self.name} is damaged ({_op_message(error)}); re-create it"

    def get_random_labels_np(self, n, rng):
        """`n` random rows of the label table as float32 `[n, label_size]`; `rng` is a numpy Generator/RandomState."""
        draw = rng.integers if hasattr(rng, "integers") else rng.randint
        return self._np_labels[draw(0, self._np_labels.shape[0], size=n)]

    def get_random_labels_tf(self, n):
        """`n` random rows of the label table as a float32 tensor `[n, label_size]`."""
        if self._tf_labels is None:
            with tf.init_scope():  # eager even when first called inside a tf.function
                self._tf_labels = tf.constant(self._np_labels)
        rows = tf.random.uniform([n], 0, self._np_labels.shape[0], dtype=tf.int32)
        return tf.gather(self._tf_labels, rows)

    def close(self):
        """Releases the cached iterators and tables; the object stays usable (they are rebuilt on demand)."""
        self._np_iterators.clear()
        self._tf_labels = None


def pipeline_seed(seed, input_context):
    """A per-input-pipeline int64 seed for stateless random ops (random when `seed` is None)."""
    pipeline = input_context.input_pipeline_id if input_context is not None else 0
    entropy = [seed, pipeline] if seed is not None else None
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)


def _mirror_augment(images, seed):
    """Flips each image of an NCHW batch horizontally with probability 1/2 (official `mirror_augment`).

    Only the chosen images are reversed (partition, reverse, stitch): 3x faster than a select over the batch.
    """
    flip = tf.cast(tf.random.stateless_uniform([tf.shape(images)[0]], seed) < 0.5, tf.int32)
    positions = tf.dynamic_partition(tf.range(tf.shape(images)[0]), flip, 2)
    kept, flipped = tf.dynamic_partition(images, flip, 2)
    result = tf.dynamic_stitch(positions, [kept, tf.reverse(flipped, axis=[3])])
    result.set_shape(images.shape)
    return result


# ----------------------------------------------------------------------------------------------------------------------
# The official TFRecord format.

def require_dir(path, what, hint=""):
    """Raises DatasetError "<what> <path> does not exist<hint>" (or "is not a directory") unless `path` is a folder."""
    if not os.path.isdir(path):
        problem = "is not a directory" if os.path.exists(path) else "does not exist"
        raise DatasetError(f"{what} {path} {problem}{hint}")


def _list_level_files(tfrecord_dir):
    require_dir(tfrecord_dir, "dataset directory", "; create one with `stylegan-dataset` (see `stylegan-dataset "
                                                   "--help`)")
    files = sorted(glob.glob(os.path.join(glob.escape(tfrecord_dir), "*.tfrecords")))
    if not files:
        raise DatasetError(f"dataset directory {tfrecord_dir} contains no *.tfrecords files; create a dataset there "
                           f"with `stylegan-dataset` (see `stylegan-dataset --help`)")
    return files


def _find_label_file(tfrecord_dir, label_file):
    if label_file is None:
        found = sorted(glob.glob(os.path.join(glob.escape(tfrecord_dir), "*.labels")))
        return found[0] if found else None
    for candidate in (label_file, os.path.join(tfrecord_dir, label_file)):
        if os.path.isfile(candidate):
            return candidate
    raise DatasetError(f"labels file {label_file} not found (also looked in {tfrecord_dir})")


def _load_labels(label_file, num_images, max_label_size):
    """Reads the labels array; returns float32 `[num_images, label_size]` (label_size 0 when unused)."""
    if label_file is None or max_label_size == 0:
        return np.zeros([num_images, 0], np.float32)
    try:
        labels = np.load(label_file, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read labels file {label_file}: {error}") from None
    if labels.ndim != 2:
        raise DatasetError(f"labels file {label_file} holds an array of shape {list(labels.shape)}; expected "
                           f"[num_images, label_size]")
    if labels.shape[0] != num_images:
        raise DatasetError(f"labels file {label_file} has {labels.shape[0]} rows but the dataset has {num_images} "
                           f"images; it belongs to another dataset or the dataset is incomplete")
    if max_label_size != "full":
        labels = labels[:, :max_label_size]
    return labels


class TFRecordDataset(BaseDataset):
    """A dataset directory in the official multi-resolution TFRecord format (see the module docstring).

    Args (names and defaults as official):
        tfrecord_dir: directory holding the `*.tfrecords` files (and optionally a `*.labels` file).
        resolution: top resolution to use, None = the largest level in the directory. Higher levels are ignored.
        label_file: labels file (path, or name inside `tfrecord_dir`), None = autodetect `*.labels`.
        max_label_size: 0 = no labels, 'full' = all label components, N = the first N components.
        repeat: repeat the data indefinitely (then every batch is full; otherwise the last one may be short).
        shuffle_mb: shuffle within a window of this many megabytes of images, 0 = keep the stored order.
        prefetch_mb: RAM budget (megabytes) of the autotuned prefetch buffer after batching, 0 = no prefetching.
        buffer_mb: read buffer of each `.tfrecords` file, in megabytes.
        num_threads: parallel calls of the batch decoding.
        mirror_augment: flip each image horizontally with probability 1/2.
        cache: keep each level's records in memory after the first pass.

    Attributes: `name`, `shape` ([C, H, W] of the top level), `resolution`, `resolution_log2`, `num_channels`,
    `dtype` ('uint8'), `dynamic_range` ([0, 255]), `label_size`, `label_dtype` ('float32'), `num_images`,
    `level_resolutions` and `level_files` (per integer lod), `tfrecord_dir`, `label_file` (None without labels),
    `labels` (the label table in stored order), `cache_key`. `iterate_stored` reads the images in stored order.

    Raises DatasetError if the directory is missing or empty, a file is truncated, levels disagree with each other,
    or the labels do not match the images.
    """

    def __init__(self, tfrecord_dir, resolution=None, label_file=None, max_label_size=0, repeat=True,
                 shuffle_mb=4096, prefetch_mb=2048, buffer_mb=256, num_threads=2, mirror_augment=False,
                 cache=False):
        self.tfrecord_dir = os.fspath(tfrecord_dir)
        self.repeat = repeat
        self.shuffle_mb = shuffle_mb
        self.prefetch_mb = prefetch_mb
        self.buffer_mb = buffer_mb
        self.num_threads = num_threads
        self.mirror_augment = mirror_augment
        self.cache = cache
        if not (max_label_size == "full" or (isinstance(max_label_size, int) and max_label_size >= 0)):
            raise ValueError(f"max_label_size must be 0, a positive int or 'full', not {max_label_size!r}")

        levels = self._inspect_levels(resolution)
        self.level_files = [path for path, _, _ in levels]
        counts = {path: count for path, count, _ in levels}
        self.num_images = levels[0][1]
        if any(count != self.num_images for count in counts.values()):
            listing = ", ".join(f"{os.path.basename(path)}: {count}" for path, count in counts.items())
            raise DatasetError(f"the levels of {self.tfrecord_dir} hold different numbers of images ({listing}); "
                               f"the dataset is incomplete, re-create it")
        self.label_file = _find_label_file(self.tfrecord_dir, label_file)
        np_labels = _load_labels(self.label_file, self.num_images, max_label_size)
        channels, resolution = levels[0][2][:2]
        name = os.path.basename(os.path.normpath(self.tfrecord_dir))
        super().__init__(name, channels, resolution, "uint8", [0, 255], np_labels)
        self._records_cache = {}

    def _inspect_levels(self, resolution):
        """Returns `[(path, num_records, shape)]` ordered by lod (top level first), validated."""
        by_resolution = {}
        for path in _list_level_files(self.tfrecord_dir):
            first, count = scan_tfrecord_file(path)
            try:
                shape = parse_tfrecord_np(first).shape
            except Exception as error:  # protobuf decode errors have no common public base class
                raise DatasetError(f"{path}: record 0 is not a valid image record ({error})") from None
            if len(shape) != 3 or shape[0] not in (1, 3) or shape[1] != shape[2] or shape[1] & (shape[1] - 1):
                raise DatasetError(f"{path}: images of shape {list(shape)}; expected [C, H, W] with C 1 or 3 and "
                                   f"H = W a power of two")
            if shape[1] in by_resolution:
                raise DatasetError(f"{path} and {by_resolution[shape[1]][0]} both hold {shape[1]}x{shape[1]} "
                                   f"images; keep one dataset per directory")
            by_resolution[shape[1]] = (path, count, shape)
        top = resolution if resolution is not None else max(by_resolution)
        if top not in by_resolution:
            raise DatasetError(f"{self.tfrecord_dir} has no {top}x{top} level (it has "
                               f"{sorted(by_resolution, reverse=True)})")
        wanted = [top >> lod for lod in range(int(np.log2(top)) - 1)]
        missing = [r for r in wanted if r not in by_resolution]
        if missing:
            raise DatasetError(f"{self.tfrecord_dir} lacks the levels {missing} below {top}x{top}; every level down "
                               f"to 4x4 is needed")
        levels = [by_resolution[r] for r in wanted]
        if len({shape[0] for _, _, shape in levels}) > 1:
            raise DatasetError(f"the levels of {self.tfrecord_dir} disagree on the number of channels")
        return levels

    def _records(self, level, input_context):
        """`(record_index, serialized_record)` pairs of one level (sharded, optionally cached); built once."""
        shard = (input_context.num_input_pipelines, input_context.input_pipeline_id) if input_context else (1, 0)
        key = (level, shard)
        if key not in self._records_cache:
            records = tf.data.TFRecordDataset(self.level_files[level], buffer_size=self.buffer_mb << 20)
            records = records.enumerate()
            if shard[0] > 1:
                records = records.shard(*shard)
            if self.cache:
                records = records.cache()
            self._records_cache[key] = records
        return self._records_cache[key]

    def make_dataset(self, lod, batch_size, seed=None, input_context=None):
        """`(images uint8 [B, C, r, r], labels float32 [B, label_size])` at `lod`, r = resolution / 2**floor(lod).

        Shuffled (window `shuffle_mb`), repeating (if `repeat`), decoded in parallel, mirrored (if `mirror_augment`)
        and prefetched. With `input_context`, this input pipeline reads only its shard of the records and
        `batch_size` is the per-replica batch. The same `seed` gives the same sequence.
        """
        level = self.level(lod)
        shape = [self.num_channels, self.level_resolutions[level], self.level_resolutions[level]]
        labels = tf.constant(self._np_labels)
        mirror_seed = pipeline_seed(seed, input_context)

        def decode(batch_index, record_indices, records):
            images = _decode_batch(records, shape)
            if self.mirror_augment:
                images = _mirror_augment(images, tf.stack([mirror_seed, batch_index]))
            return images, tf.gather(labels, record_indices)

        dataset = self._records(level, input_context)
        if self.shuffle_mb > 0:  # tf.data allocates the whole buffer up front: never more than the dataset
            window = ((self.shuffle_mb << 20) - 1) // int(np.prod(shape)) + 1
            dataset = dataset.shuffle(min(window, self.num_images), seed=seed)
        if self.repeat:
            dataset = dataset.repeat()
        dataset = dataset.batch(batch_size, drop_remainder=self.repeat).enumerate()
        dataset = dataset.map(lambda i, batch: decode(i, *batch), num_parallel_calls=self.num_threads)
        return with_prefetch(dataset, self.prefetch_mb)

    @property
    def labels(self):
        """The label table in stored order: float32 `[num_images, label_size]`, row i labelling image i."""
        return self._np_labels

    @property
    def cache_key(self):
        """A name for the images this object reads (for caches of what is computed from them): the dataset name and a
        hash of its absolute directory, resolution and level file names and sizes."""
        files = "|".join(f"{os.path.basename(p)}:{os.path.getsize(p)}" for p in self.level_files)
        ident = f"{os.path.abspath(self.tfrecord_dir)}|{self.resolution}|{files}"
        return f"{self.name}-{hashlib.md5(ident.encode(), usedforsecurity=False).hexdigest()[:12]}"

    def iterate_stored(self, batch_size, max_images=None, lod=0):
        """Yields the images in stored order, once, as uint8 NumPy batches `[B, C, r, r]` (the last one may be short):
        all of them, or the first `max_images`; at the top resolution (or at `lod`, r = resolution / 2**floor(lod)).

        Ignores this object's shuffling, repetition and mirroring; a damaged record raises DatasetError
        (`read_errors`).
        """
        level = self.level(lod)
        shape = [self.num_channels, self.level_resolutions[level], self.level_resolutions[level]]
        records = tf.data.TFRecordDataset(self.level_files[level], buffer_size=self.buffer_mb << 20)
        if max_images is not None:
            records = records.take(max_images)
        batches = records.batch(batch_size).map(lambda batch: _decode_batch(batch, shape),
                                                num_parallel_calls=self.num_threads).prefetch(2)
        with self.read_errors():
            for images in batches:
                yield images.numpy()

    def verify(self, progress=None):
        """Reads every record of every level checking its CRC32C checksum (DatasetError naming the first damaged
        one); `progress`: an optional `Progress` counting records (`num_images * len(level_files)` in all)."""
        for path in self.level_files:
            verify_tfrecord_file(path, progress=progress)

    def _data_loss_message(self, error):
        """Finds the damaged file: each level file with a record at the offset TensorFlow reports is read up to it."""
        for path in self.level_files:
            index, _ = _damaged_record(path, error)
            if index is not None and index < scan_tfrecord_file(path)[1]:
                try:
                    verify_tfrecord_file(path, max_records=index + 1)
                except DatasetError as found:
                    return str(found)
        return f"a file of dataset {self.tfrecord_dir} is damaged ({_op_message(error)}); re-create the dataset"

    def close(self):
        """Also drops the per-level record pipelines (and their in-memory caches)."""
        super().close()
        self._records_cache.clear()


def with_prefetch(dataset, prefetch_mb):
    """Adds an autotuned prefetch whose RAM budget is `prefetch_mb` megabytes (0 = none)."""
    if prefetch_mb <= 0:
        return dataset
    options = tf.data.Options()
    options.autotune.ram_budget = prefetch_mb << 20
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def load_dataset(data_dir, **kwargs):
    """Opens the dataset directory `data_dir` (str or path; `~` expanded) as a TFRecordDataset.

    `kwargs` go to TFRecordDataset. Raises DatasetError with a hint when the directory is missing or holds no
    dataset. `DEFAULT_DATASET` is the bundled Fashion-MNIST subset.
    """
    return TFRecordDataset(os.path.expanduser(os.fspath(data_dir)), **kwargs)
