"""Where a metric's images come from: a dataset (the reals) or a generator (the fakes).

Every source yields uint8 NCHW batches ``[B, C, R, R]`` (dynamic range [0, 255]) and knows its ``resolution``,
``num_channels`` and a ``cache_key`` (None when its images must not be cached, e.g. a generator's).
"""
import numpy as np
import tensorflow as tf

from stylegan_tf.errors import StyleGANError
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.sampling import NoiseImages


class MetricError(StyleGANError, ValueError):
    """A metric cannot run on this input (too few images, mismatched resolution ...); the message says why."""


def count_name(num_images):
    """``50000`` -> ``'50k'``, ``1500`` -> ``'1500'``: the count in a metric name (``fid50k``)."""
    return f"{num_images // 1000}k" if num_images % 1000 == 0 else str(num_images)


class DatasetImages:
    """The first `num_images` images of a dataset in stored order (the official `shuffle_mb=0`; no mirroring), at
    its top resolution.

    `dataset`: the caller's dataset object (`training.dataset.TFRecordDataset`, or anything with `name`,
    `resolution`, `num_channels`, `num_images`, `label_size`, `get_random_labels_np(n, rng)`, `cache_key` and
    `iterate_stored(batch_size, max_images)` yielding uint8 `[B, C, R, R]` NumPy batches).
    """

    def __init__(self, dataset):
        self.dataset = dataset
        self.name = dataset.name
        self.resolution = dataset.resolution
        self.num_channels = dataset.num_channels
        self.num_images = dataset.num_images

    @property
    def cache_key(self):
        """Identifies the images read (the dataset's `cache_key`: its directory, resolution, file sizes)."""
        return self.dataset.cache_key

    def check_count(self, num_images, metric_name):
        if num_images > self.num_images:
            raise MetricError(f"{metric_name} needs {num_images} images but dataset '{self.name}' has "
                              f"{self.num_images}: pass a smaller --num_images (e.g. "
                              f"{self.num_images // 1000 * 1000 or self.num_images})")

    def iterate(self, num_images, minibatch_size):
        """Yield uint8 `[B, C, R, R]` batches, `num_images` images in all."""
        yield from self.dataset.iterate_stored(minibatch_size, max_images=num_images)


class GeneratorImages:
    """Images of a generator ``Gs`` (StyleGAN's ``G_style``, StyleGAN2's ``G_main`` or ProGAN's ``G_paper``), as
    the official metrics draw them: latents ``N(0, I)``, no truncation (``is_validation=True``), random noise (none
    in ProGAN), uint8 conversion. Labels of conditional networks are rows of the dataset's label table, drawn at
    random.

    Reproducible: the latents are ``np.random.RandomState(seed).randn(N, latent_size)`` drawn in order, image i's
    noise is keyed ``(seed, i)`` (``stylegan_tf.sampling.NoiseImages``), so the images do not depend on the batch
    size.
    """
    cache_key = None

    def __init__(self, Gs, dataset=None, seed=0):  # noqa: N803
        self.Gs = Gs
        self.name = Gs.name
        _, self.num_channels, self.resolution, _ = Gs.official_output_shape
        (_, self.latent_size), (_, self.label_size) = Gs.input_shapes
        if self.label_size and (dataset is None or dataset.label_size != self.label_size):
            have = "no dataset" if dataset is None else f"labels of size {dataset.label_size}"
            raise MetricError(f"the network is conditional ({self.label_size} classes) but the dataset has {have}")
        self.dataset = dataset
        self.seed = seed
        self.memo_key = ("generator", id(Gs), seed)
        self._generate = tf.function(self._graph)

    def _graph(self, latents, labels, keys):
        noise = NoiseImages(self.Gs.synthesis, "random", keys) if hasattr(self.Gs, "synthesis") else None
        images = self.Gs(latents, labels, is_validation=True, randomize_noise=True, rng=noise)
        return convert_images_to_uint8(images)

    def iterate(self, num_images, minibatch_size):
        """Yield uint8 ``[B, C, R, R]`` batches, ``num_images`` images in all (the last batch is computed padded
        to ``minibatch_size``, so the generator is traced once)."""
        rng = np.random.RandomState(self.seed)
        label_rng = np.random.RandomState([self.seed, 1])
        minibatch_size = min(minibatch_size, num_images)
        for begin in range(0, num_images, minibatch_size):
            n = min(minibatch_size, num_images - begin)
            latents = np.zeros([minibatch_size, self.latent_size], np.float32)
            latents[:n] = rng.randn(n, self.latent_size)
            labels = np.zeros([minibatch_size, self.label_size], np.float32)
            if self.label_size:
                labels[:n] = self.dataset.get_random_labels_np(n, label_rng)
            index = np.arange(begin, begin + minibatch_size)
            keys = np.stack([np.full(minibatch_size, self.seed), index], axis=1).astype(np.int64)
            yield self._generate(latents, labels, keys).numpy()[:n]


def check_compatible(fakes, reals):
    """Raise ``MetricError`` unless the two sources have the same resolution and number of channels."""
    if (fakes.resolution, fakes.num_channels) != (reals.resolution, reals.num_channels):
        raise MetricError(f"resolution mismatch: '{fakes.name}' gives {fakes.resolution}x{fakes.resolution}x"
                          f"{fakes.num_channels} images but dataset '{reals.name}' holds {reals.resolution}x"
                          f"{reals.resolution}x{reals.num_channels}")
