"""The dataset tool's create commands as Python functions: a source in, a dataset directory in the official format out.

`create_mnist(tfrecord_dir, mnist_dir, split="all")`, `create_from_images(...)`, ...: the keyword arguments are the
flags of `stylegan-dataset <command>` (their docstrings are its help), errors are `DatasetError` (or `OSError` for a
failed write), and each prints a summary of what it wrote, converted and skipped. The output is written atomically
(`training.dataset_writer`): an existing directory is checked before any source is read, replaced only with
`overwrite` and only if it is a dataset, and never if it contains the source.
"""
import collections
import functools
import inspect
import os

import numpy as np

from stylegan_tf.fileio import printable
from stylegan_tf.progress import Progress
from training import dataset_sources as sources
from training import image_files
from training.dataset import DatasetError
from training.dataset_writer import TFRecordExporter, output_directory, shuffled_order

DEFAULT_THREADS = min(8, os.cpu_count() or 1)
_SHOWN_SKIPPED = 20


def _report(tfr, skipped=None, notes=None):
    """Prints what a finished export wrote, what was converted and what was skipped (and why); names escaped."""
    resolution = 2 ** tfr.resolution_log2
    labels = f"labels of size {tfr.label_size}" if tfr.label_size else "no labels"
    print(f"Wrote {tfr.cur_images} images to {printable(tfr.tfrecord_dir)}: {resolution}x{resolution}, "
          f"{tfr.shape[0]} channel(s), levels r{tfr.resolution_log2:02d} to r02, {labels}.")
    if notes:
        print("Converted: " + ", ".join(f"{count} {note}" for note, count in notes.most_common()) + ".")
    if skipped:
        print(f"Skipped {len(skipped)} file(s):")
        shown = sorted(skipped.items())
        for name, reason in shown[:_SHOWN_SKIPPED]:
            print(f"  {printable(name)}: {printable(reason)}")
        if len(shown) > _SHOWN_SKIPPED:
            print(f"  ... and {len(shown) - _SHOWN_SKIPPED} more")


def balanced_subset(labels, num_images, max_images):
    """Indices (ascending) of the images to keep: all, or `max_images` of them, class-balanced for one-hot labels.

    Balanced means round-robin over the classes in source order: the first image of each class, then the second ...
    """
    if max_images is None or max_images >= num_images:
        return np.arange(num_images)
    if labels is None or not sources.is_one_hot(labels):
        return np.arange(max_images)
    classes = np.argmax(labels, axis=1)
    by_class = np.argsort(classes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(classes))[:-1]])
    rank = np.empty(num_images, np.int64)
    rank[by_class] = np.arange(num_images) - starts[classes[by_class]]
    return np.sort(np.lexsort((np.arange(num_images), rank))[:max_images])


def _export_arrays(tfrecord_dir, images, labels, *, shuffle, max_images, overwrite, source):
    """Writes `images` (uint8 `[N, C, H, W]`, numpy or h5py) with `labels` (`[N, L]` or None) in shuffled order."""
    keep = balanced_subset(labels, len(images), max_images)
    order = keep[shuffled_order(len(keep))] if shuffle else keep
    with TFRecordExporter(tfrecord_dir, len(order), overwrite=overwrite, protect=[source]) as tfr:
        for index in order:
            tfr.add_image(images[index])
        if labels is not None:
            tfr.add_labels(labels[order])
    _report(tfr)


def _export_encoded(tfrecord_dir, items, num_items, prepare, *, strict, num_threads, overwrite, source, skipped):
    """Decodes `(name, path_or_bytes)` pairs (in their final order) in parallel with `prepare` and writes them.

    Undecodable images are added to `skipped` (name -> reason), or with `strict` stop everything.
    """
    notes = collections.Counter()
    with TFRecordExporter(tfrecord_dir, num_items, overwrite=overwrite, protect=[source]) as tfr:
        decoded = image_files.parallel_map(lambda item: (item[0], *image_files.load(item[1], prepare)), items,
                                           num_threads)
        for name, array, info in decoded:
            if array is None:
                if strict:
                    raise DatasetError(f"{printable(name)}: {info}; stopped by --strict, nothing was "
                                       f"written")
                skipped[name] = info
                continue
            notes.update(info)
            tfr.add_image(array)
    _report(tfr, skipped, notes)


def _creates_dataset(function):
    """Decorator of the create commands `(tfrecord_dir, source, *, ..., overwrite)`: checks the output (absent, or
    with `overwrite` a dataset, not containing `source`) before any work starts."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def create(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        tfrecord_dir, source = list(bound.arguments.values())[:2]
        output_directory(tfrecord_dir, bound.arguments["overwrite"], protect=[source])
        return function(*bound.args, **bound.kwargs)
    return create


@_creates_dataset
def create_from_images(tfrecord_dir, image_dir, *, resize=None, crop=False, channels=None, shuffle=True,
                       max_images=None, strict=False, num_threads=DEFAULT_THREADS, overwrite=False):
    """Dataset from a folder of images (PNG, JPEG, BMP, WebP, ... anything Pillow reads; no labels).

    Every file directly inside the folder is used (hidden files excluded), in sorted order before shuffling.
    Images must share one square power-of-two size unless --resize/--crop say how to make them so. Grayscale,
    palette, RGBA (alpha flattened onto black), CMYK and 16-bit images are converted to --channels (default: 1 if
    all images are grayscale, else 3). Files that are not images or are corrupt are skipped and listed in the
    summary (--strict makes them an error).
    """
    if channels not in (None, 1, 3):
        raise DatasetError(f"--channels={channels}: must be 1 (grayscale) or 3 (RGB)")
    files = image_files.list_files(image_dir)
    skipped = {}
    probes = []
    with Progress(len(files), "Checking", unit="file") as progress:
        for path, found in zip(files, image_files.parallel_map(image_files.probe, files, num_threads)):
            progress.update()
            if isinstance(found, str):
                skipped[os.path.basename(path)] = found
            else:
                probes.append(found)
    if skipped and strict:
        name, reason = min(skipped.items())
        raise DatasetError(f"{len(skipped)} unusable file(s) in {image_dir}, e.g. {printable(name)}: "
                           f"{reason}; stopped by --strict, nothing was written")
    if not probes:
        name, reason = min(skipped.items())
        raise DatasetError(f"no usable images in {image_dir}: none of its {len(skipped)} file(s) can be read, "
                           f"e.g. {printable(name)}: {reason}")
    probes = probes[:max_images]
    resolution = image_files.choose_resolution(probes, resize, crop)
    if channels is None:
        channels = 1 if all(image_files.is_grayscale(p.mode) for p in probes) else 3
    prepare = image_files.Converter(resolution, channels, crop=crop, scale=resize is not None)
    order = shuffled_order(len(probes)) if shuffle else range(len(probes))
    items = ((os.path.basename(probes[i].path), probes[i].path) for i in order)
    _export_encoded(tfrecord_dir, items, len(probes), prepare, strict=strict, num_threads=num_threads,
                    overwrite=overwrite, source=image_dir, skipped=skipped)


@_creates_dataset
def create_mnist(tfrecord_dir, mnist_dir, *, split="train", max_images=None, shuffle=True, overwrite=False):
    """MNIST or Fashion-MNIST from the IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz and for
    --split=test/all t10k-*.gz; uncompressed files work too).

    Images are zero-padded from 28x28 to 32x32 (1 channel), labels one-hot over the 10 classes, as official.
    The official tool uses the training split (60,000 images); --split=all adds the test split (70,000).
    """
    images, class_ids = sources.read_mnist(mnist_dir, split)
    _export_arrays(tfrecord_dir, images, sources.one_hot(class_ids, 10), shuffle=shuffle, max_images=max_images,
                   overwrite=overwrite, source=mnist_dir)


@_creates_dataset
def create_cifar10(tfrecord_dir, cifar10_dir, *, split="train", max_images=None, shuffle=True, overwrite=False):
    """CIFAR-10 from the Python version's batches (the extracted cifar-10-batches-py folder).

    32x32 RGB, one-hot labels over 10 classes. The official tool uses the training split (data_batch_1..5, 50,000
    images); --split=all adds test_batch (60,000).
    """
    files = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    images, class_ids = sources.read_cifar(cifar10_dir, [f for part in sources.SPLITS[split] for f in files[part]],
                                           "labels", 10)
    _export_arrays(tfrecord_dir, images, sources.one_hot(class_ids, 10), shuffle=shuffle, max_images=max_images,
                   overwrite=overwrite, source=cifar10_dir)


@_creates_dataset
def create_cifar100(tfrecord_dir, cifar100_dir, *, split="train", max_images=None, shuffle=True, overwrite=False):
    """CIFAR-100 from the Python version (the extracted cifar-100-python folder: files train, test).

    32x32 RGB, one-hot fine labels over 100 classes. The official tool uses the training split (50,000 images).
    """
    images, class_ids = sources.read_cifar(cifar100_dir, list(sources.SPLITS[split]), "fine_labels", 100)
    _export_arrays(tfrecord_dir, images, sources.one_hot(class_ids, 100), shuffle=shuffle, max_images=max_images,
                   overwrite=overwrite, source=cifar100_dir)


@_creates_dataset
def create_svhn(tfrecord_dir, svhn_dir, *, max_images=None, shuffle=True, overwrite=False):
    """SVHN training digits: the official tool's train_1.pkl .. train_3.pkl, or the standard train_32x32.mat.

    32x32 RGB, one-hot labels over 10 classes (digit 0 is class 0). Reading .mat files needs scipy.
    """
    images, class_ids = sources.read_svhn(svhn_dir)
    _export_arrays(tfrecord_dir, images, sources.one_hot(class_ids, 10), shuffle=shuffle, max_images=max_images,
                   overwrite=overwrite, source=svhn_dir)


@_creates_dataset
def create_lsun(tfrecord_dir, lmdb_dir, *, resolution=256, max_images=None, strict=False,
                num_threads=DEFAULT_THREADS, overwrite=False):
    """An LSUN category from its LMDB folder (e.g. bedroom_train_lmdb), in stored order as official.

    Each image is center-cropped to a square and resized to --resolution (Lanczos). Undecodable entries are skipped
    and listed (--strict makes them an error). Needs the lmdb package: pip install 'stylegan-tf[lsun]'.
    """
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError(f"--resolution={resolution}: must be a power of two >= 4")
    with sources.open_lsun(lmdb_dir, max_images) as (count, entries):
        prepare = image_files.Converter(resolution, 3, crop=True, scale=True)
        _export_encoded(tfrecord_dir, entries, count, prepare, strict=strict, num_threads=num_threads,
                        overwrite=overwrite, source=lmdb_dir, skipped={})


@_creates_dataset
def create_celeba(tfrecord_dir, celeba_dir, *, cx=89, cy=121, max_images=None, shuffle=True, strict=False,
                  num_threads=DEFAULT_THREADS, overwrite=False):
    """CelebA aligned faces (img_align_celeba_png/*.png as official, or the standard img_align_celeba/*.jpg).

    Each 178x218 image is cropped to the 128x128 square centred at (--cx, --cy), RGB, no labels. Unusable files
    are skipped and listed (--strict makes them an error).
    """
    files = sources.celeba_files(celeba_dir)[:max_images]
    prepare = sources.celeba_crop(cx, cy)
    order = shuffled_order(len(files)) if shuffle else range(len(files))
    items = ((os.path.basename(files[i]), files[i]) for i in order)
    _export_encoded(tfrecord_dir, items, len(files), prepare, strict=strict, num_threads=num_threads,
                    overwrite=overwrite, source=celeba_dir, skipped={})


@_creates_dataset
def create_from_hdf5(tfrecord_dir, hdf5_filename, *, max_images=None, shuffle=True, overwrite=False):
    """Dataset from a ProGAN HDF5 file (datasets data4x4 ... dataNxN of uint8 NCHW images; the largest is used).

    Labels are read from <hdf5 name>-labels.npy beside it when present, as official.
    """
    with sources.open_hdf5(hdf5_filename) as (images, labels):
        _export_arrays(tfrecord_dir, images, labels, shuffle=shuffle, max_images=max_images, overwrite=overwrite,
                       source=hdf5_filename)
