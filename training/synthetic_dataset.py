"""Random training data with the interface of `training.dataset.TFRecordDataset`, for benchmarks and tests."""
import numpy as np
import tensorflow as tf

from training.dataset import BaseDataset, pipeline_seed, with_prefetch


class SyntheticDataset(BaseDataset):
    """Random images and labels generated on the fly, with the interface of TFRecordDataset (official equivalent).

    Images are uniform noise over `dynamic_range` in `dtype`, NCHW; labels are random one-hot rows of
    `label_size` classes (float32 `[B, 0]` when `label_size` is 0). The data never ends; `num_images` is None.
    """

    def __init__(self, resolution=1024, num_channels=3, dtype="uint8", dynamic_range=(0, 255), label_size=0):
        if resolution < 4 or resolution & (resolution - 1):
            raise ValueError(f"resolution must be a power of two >= 4, not {resolution}")
        np_labels = np.eye(label_size, dtype=np.float32) if label_size else np.zeros([1, 0], np.float32)
        super().__init__("synthetic", num_channels, resolution, dtype, dynamic_range, np_labels)
        self.num_images = None

    def make_dataset(self, lod, batch_size, seed=None, input_context=None):
        """Endless `(images [B, C, r, r], labels [B, label_size])` at `lod`; the same `seed` gives the same data."""
        resolution = self.level_resolutions[self.level(lod)]
        shape = [batch_size, self.num_channels, resolution, resolution]
        dtype = tf.as_dtype(self.dtype)
        low, high = self.dynamic_range
        labels = tf.constant(self._np_labels)
        base_seed = pipeline_seed(seed, input_context)

        def generate(index):
            seed_images, seed_labels = tf.unstack(tf.random.experimental.stateless_split([base_seed, index]))
            if dtype.is_integer:
                images = tf.random.stateless_uniform(shape, seed_images, low, high + 1, dtype=tf.int32)
            else:
                images = tf.random.stateless_uniform(shape, seed_images, low, high)
            rows = tf.random.stateless_uniform([batch_size], seed_labels, 0, labels.shape[0], dtype=tf.int32)
            return tf.cast(images, dtype), tf.gather(labels, rows)

        return with_prefetch(tf.data.Dataset.counter().map(generate, num_parallel_calls=tf.data.AUTOTUNE), 64)
