"""The dataset tool's inspection commands as Python functions: `info`, `display`, `extract` and `compare`.

Each reads a dataset in stored order (`TFRecordDataset.iterate_stored`), prints what it found, and raises
`DatasetError` for a missing, inconsistent or damaged dataset; the keyword arguments are the flags of
`stylegan-dataset <command>`. Files are written atomically: the grid of `display` appears complete or not at all, and
so does the folder of `extract`, which replaces (`overwrite`) only a folder of images it extracted before.
"""
import math
import os
import re

import numpy as np
import PIL.Image

from stylegan_tf.fileio import atomic_write
from stylegan_tf.progress import Progress
from training.dataset import DatasetError, TFRecordDataset
from training.dataset_sources import is_one_hot
from training.dataset_writer import output_directory

#: names of the files `extract` writes
_EXTRACTED = re.compile(r"img\d{8}\.png")
#: `info` checks every record's checksum by default up to this many bytes of data: a few seconds (`verify` read
#: 150-260 MiB/s from the page cache here, on two shared CPU cores)
VERIFY_AUTO_BYTES = 1 << 30


def _open_dataset(tfrecord_dir):
    """The dataset with all label components (read in stored order by the commands)."""
    return TFRecordDataset(tfrecord_dir, max_label_size="full", repeat=False, shuffle_mb=0, prefetch_mb=0)


def _to_pil(image):
    """uint8 `[C, H, W]` -> PIL image (L or RGB)."""
    return PIL.Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))


def is_extracted_dir(path):
    """True when the directory `path` holds nothing but `img<8 digits>.png` files (what `extract` writes)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    return all(entry.is_file(follow_symlinks=False) and _EXTRACTED.fullmatch(entry.name) for entry in entries)


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
    count = min(max_images, dataset.num_images)
    images = next(dataset.iterate_stored(count, max_images=count, lod=lod))
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    channels, height, width = images.shape[1:]
    grid = np.zeros([channels, rows * height, columns * width], np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        grid[:, row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    with atomic_write(output) as file:
        _to_pil(grid).save(file, format="PNG")
    print(f"Wrote {len(images)} images of {dataset.name} ({width}x{height}, lod {lod}) as a {columns}x{rows} grid "
          f"to {output}")
    if dataset.label_size:
        print("Class of each image, in grid layout:")
        classes = np.argmax(dataset.labels[:count], axis=1)
        for row in range(rows):
            print("  " + " ".join(f"{c:3d}" for c in classes[row * columns:(row + 1) * columns]))


def extract(tfrecord_dir, output_dir, *, max_images=None, overwrite=False):
    """Writes the full-resolution images of a dataset as PNG files img00000000.png, ... in stored order.

    With --overwrite, an existing output folder is replaced only if it holds nothing but such files.
    """
    output = output_directory(output_dir, overwrite, protect=[tfrecord_dir], is_replaceable=is_extracted_dir,
                              what="folder of extracted images")
    dataset = _open_dataset(tfrecord_dir)
    total = dataset.num_images if max_images is None else min(max_images, dataset.num_images)
    with output as temp, Progress(total, "Extracting") as progress:
        for images in dataset.iterate_stored(256, max_images=total):
            for image in images:
                _to_pil(image).save(os.path.join(temp, f"img{progress.count:08d}.png"))
                progress.update()
    print(f"Wrote {total} PNG images ({dataset.resolution}x{dataset.resolution}) to {output_dir}")


def _stored_pairs(dataset):
    """Yields `(image [C, H, W], label [label_size])` in stored order."""
    index = 0
    for images in dataset.iterate_stored(256):
        for image in images:
            yield image, dataset.labels[index]
            index += 1


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
    for (image_a, label_a), (image_b, label_b) in zip(_stored_pairs(a), _stored_pairs(b)):
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


def info(tfrecord_dir, *, verify=None):
    """Describes a dataset: resolution, channels, levels and their files, number of images, labels; and checks the
    checksum of every record, so that a damaged dataset is found before training.

    --verify reads every record; --noverify skips that; by default records are checked when the dataset is at most
    1 GiB.
    """
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
    else:
        print(f"  labels:     {os.path.basename(dataset.label_file)}, size {dataset.label_size}")
        if is_one_hot(dataset.labels):
            counts = np.bincount(np.argmax(dataset.labels, axis=1), minlength=dataset.label_size)
            print(f"  classes:    {', '.join(f'{c}: {n}' for c, n in enumerate(counts))}")
    size = sum(os.path.getsize(path) for path in dataset.level_files)
    if verify is False or (verify is None and size > VERIFY_AUTO_BYTES):
        print(f"  records:    checksums not verified ({size / 2**30:.1f} GiB; --verify reads them all)")
        return
    with Progress(dataset.num_images * len(dataset.level_files), "Verifying", unit="rec") as progress:
        dataset.verify(progress)
    print(f"  records:    {dataset.num_images * len(dataset.level_files)} checksums verified, all intact")
