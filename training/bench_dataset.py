"""Benchmark of the input pipeline: images per second that TFRecordDataset delivers.

    python -m training.bench_dataset [--resolutions=32,256] [--batch_size=32] [--seconds=10]

For each resolution a dataset of random images (about 128 MB, 256 to 10,000 images) is written to a temporary
directory with the dataset tool, then minibatches at lod 0 are drawn with the training defaults (shuffle, repeat,
prefetch) after a warm-up that fills the shuffle buffer. Prints one line per resolution.
"""
import tempfile
import time

import numpy as np
from absl import app, flags

from training.dataset import TFRecordDataset
from training.dataset_writer import TFRecordExporter

_DATASET_BYTES = 128 << 20


def write_random_dataset(tfrecord_dir, resolution, channels, num_images, seed=0):
    """Writes `num_images` uniform-noise uint8 images `[channels, resolution, resolution]` in the official format."""
    rng = np.random.default_rng(seed)
    with TFRecordExporter(tfrecord_dir, num_images, print_progress=False) as tfr:
        for _ in range(num_images):
            tfr.add_image(rng.integers(0, 256, [channels, resolution, resolution], dtype=np.uint8))


def measure(dataset, batch_size, seconds, warmup_batches=20):
    """Images per second drawn from `dataset.make_dataset(0, batch_size)` over about `seconds`, after warm-up."""
    iterator = iter(dataset.make_dataset(0, batch_size, seed=0))
    for _ in range(warmup_batches):
        next(iterator)
    batches, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        batches += 1
    return batches * batch_size / (time.perf_counter() - start)


def main(argv):
    del argv
    args = flags.FLAGS
    for resolution in map(int, args.resolutions):
        image_bytes = args.channels * resolution * resolution
        num_images = int(np.clip(_DATASET_BYTES // image_bytes, 256, 10_000))
        with tempfile.TemporaryDirectory(prefix="bench_dataset-") as temp:
            tfrecord_dir = f"{temp}/random{resolution}"
            write_random_dataset(tfrecord_dir, resolution, args.channels, num_images)
            dataset = TFRecordDataset(tfrecord_dir, num_threads=args.num_threads,
                                      mirror_augment=args.mirror_augment, cache=args.cache)
            rate = measure(dataset, args.batch_size, args.seconds)
        print(f"{resolution}x{resolution}x{args.channels}: {rate:,.0f} images/s (batch {args.batch_size}, "
              f"{num_images} distinct images, mirror_augment={args.mirror_augment}, cache={args.cache})",
              flush=True)


def run_main():
    """Command line; its flags are registered here so that importing this module registers none."""
    flags.DEFINE_list("resolutions", ["32", "256"], "Resolutions to measure (powers of two).")
    flags.DEFINE_integer("channels", 3, "Channels of the images (1 or 3).")
    flags.DEFINE_integer("batch_size", 32, "Minibatch size.")
    flags.DEFINE_float("seconds", 10.0, "Measuring time per resolution, after the warm-up.")
    flags.DEFINE_integer("num_threads", 2, "TFRecordDataset num_threads.")
    flags.DEFINE_bool("mirror_augment", False, "Measure with mirror augmentation.")
    flags.DEFINE_bool("cache", False, "Measure with the in-memory cache.")
    app.run(main)


if __name__ == "__main__":
    run_main()
