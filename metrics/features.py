"""Feature vectors of image sources, with progress output, and the per-dataset cache of the reals' features.

Cache files: ``<cache_dir>/reals/<source cache_key>-<detector>-<count>.npy`` (float32 ``[N, D]``), written
atomically; a file serves any count up to its own. The official code caches only the mean and covariance;
features are kept so that KID and precision/recall can reuse them.
"""
import functools
import os

import numpy as np
import tensorflow as tf

from metrics.inception import inception_inputs, load_inception_v3
from metrics.metric_base import MetricBase, progress_bar
from metrics.weights import default_cache_dir
from stylegan_tf.fileio import atomic_write


class InceptionFeatures:
    """The FID detector: uint8 NCHW images of any size, 1 or 3 channels -> float32 ``[B, 2048]`` Inception-v3
    ``pool_3`` features (``metrics.inception``)."""
    name = "inception_v3"

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir
        self._run = None

    def __call__(self, images):
        if self._run is None:  # built on first use: cached features need no network
            model = load_inception_v3(cache_dir=self.cache_dir)
            self._run = tf.function(lambda x: model(inception_inputs(x), training=False), reduce_retracing=True,
                                    autograph=False)
        return self._run(tf.convert_to_tensor(images)).numpy()


@functools.lru_cache(maxsize=None)
def inception_detector(cache_dir=None):
    """One ``InceptionFeatures`` per cache directory (building its network reads 87 MB of weights)."""
    return InceptionFeatures(cache_dir)


def compute_features(detector, source, num_images, minibatch_size, desc):
    """float32 ``[num_images, D]`` features of the first ``num_images`` images of ``source``."""
    parts, done = [], 0
    with progress_bar(num_images, desc) as bar:
        for images in source.iterate(num_images, minibatch_size):
            parts.append(detector(images))
            done += len(images)
            bar.set(done)
    return np.concatenate(parts)[:num_images]


def _cached_counts(folder, prefix):
    """``{count: path}`` of the cache files ``<prefix><count>.npy`` in ``folder``."""
    found = {}
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        count = name[len(prefix):-len(".npy")]
        if name.startswith(prefix) and name.endswith(".npy") and count.isdigit():
            found[int(count)] = os.path.join(folder, name)
    return found


def source_features(detector, source, num_images, minibatch_size=32, cache_dir=None, memo=None):
    """float32 ``[num_images, D]`` features of the first ``num_images`` images of ``source`` (``metrics.sources``).

    A source with a ``cache_key`` (a dataset) is cached on disk as ``<cache_dir>/reals/<cache_key>-<detector>-
    <count>.npy``; one with a ``memo_key`` (a generator, whose image i does not depend on how many are drawn) in
    the dict ``memo``, for the other metrics of one evaluation. A cached set of at least ``num_images`` images
    serves any smaller request with its first rows.
    """
    what = f"{detector.name} features of {num_images} images of '{source.name}'"
    if source.cache_key is None:
        key = (source.memo_key, detector.name)
        if memo is None or key not in memo or len(memo[key]) < num_images:
            features = compute_features(detector, source, num_images, minibatch_size, what)
            if memo is None:
                return features
            memo[key] = features
        return memo[key][:num_images]
    folder = os.path.join(cache_dir or default_cache_dir(), "reals")
    prefix = f"{source.cache_key}-{detector.name}-"
    larger = {count: path for count, path in _cached_counts(folder, prefix).items() if count >= num_images}
    if larger:
        return np.load(larger[min(larger)], mmap_mode="r")[:num_images].copy()
    features = compute_features(detector, source, num_images, minibatch_size, what)
    os.makedirs(folder, exist_ok=True)
    with atomic_write(os.path.join(folder, f"{prefix}{num_images}.npy")) as f:
        np.save(f, features)
    return features


class FeatureMetric(MetricBase):
    """A metric on the Inception features of ``num_images`` generated and ``num_images`` real images: subclasses
    implement ``_evaluate_features(real [N, 2048], fake [N, 2048])``."""

    def required_weights(self):
        return ("inception_v3",)

    def _evaluate(self, Gs, reals):  # noqa: N803
        fakes = self._fakes(Gs, reals)
        detector = inception_detector(self.cache_dir)
        real = source_features(detector, reals, self.num_images, self.minibatch_size, self.cache_dir)
        fake = source_features(detector, fakes, self.num_images, self.minibatch_size, self.cache_dir, self._memo)
        self._evaluate_features(real, fake)

    def _evaluate_features(self, real, fake):
        raise NotImplementedError
