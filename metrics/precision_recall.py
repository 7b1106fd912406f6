"""Improved precision and recall (Kynkäänniemi et al. 2019), as StyleGAN2's ``precision_recall.py``, on Inception
features.

Each feature set estimates its manifold as the union of balls around its points with radius the distance to the
k-th nearest neighbour in the set (``nhood_size`` k = 3). Precision is the fraction of generated points inside the
real manifold, recall the fraction of real points inside the generated one. StyleGAN2 uses VGG16 fc2 features
(not available here); the Inception ``pool_3`` features of FID are used instead, so values are not comparable
with published ones. Squared Euclidean distances, computed in ``row_batch_size`` rows at a time.
"""
import numpy as np

from metrics.features import FeatureMetric
from metrics.sources import MetricError


def _squared_distances(u, v):
    """``[len(u), len(v)]`` squared Euclidean distances (float32, clipped at 0)."""
    d = np.sum(np.square(u), 1)[:, None] - 2 * (u @ v.T) + np.sum(np.square(v), 1)[None, :]
    return np.maximum(d, 0)


def manifold_radii(features, nhood_size=3, row_batch_size=2000):
    """Squared distance of each point of ``features`` ``[N, D]`` to its ``nhood_size``-th nearest neighbour."""
    radii = np.empty(len(features), np.float32)
    for begin in range(0, len(features), row_batch_size):
        d = _squared_distances(features[begin:begin + row_batch_size], features)
        radii[begin:begin + row_batch_size] = np.partition(d, nhood_size, axis=1)[:, nhood_size]
    return radii


def inside_manifold(points, features, radii, row_batch_size=2000):
    """bool ``[len(points)]``: whether each point lies within the ball of some point of ``features``."""
    inside = np.empty(len(points), bool)
    for begin in range(0, len(points), row_batch_size):
        d = _squared_distances(points[begin:begin + row_batch_size], features)
        inside[begin:begin + row_batch_size] = np.any(d <= radii[None, :], axis=1)
    return inside


def precision_recall(real_features, fake_features, nhood_size=3, row_batch_size=2000):
    """``(precision, recall)`` of features ``[N_f, D]`` against ``[N_r, D]``."""
    real = np.asarray(real_features, np.float32)
    fake = np.asarray(fake_features, np.float32)
    precision = inside_manifold(fake, real, manifold_radii(real, nhood_size, row_batch_size), row_batch_size)
    recall = inside_manifold(real, fake, manifold_radii(fake, nhood_size, row_batch_size), row_batch_size)
    return float(np.mean(precision)), float(np.mean(recall))


class PR(FeatureMetric):
    """``pr<N>k3``: precision and recall (results ``_precision``, ``_recall``) of ``num_images`` fakes and reals."""

    def __init__(self, name, num_images, nhood_size=3, row_batch_size=2000, **kwargs):
        super().__init__(name, num_images, **kwargs)
        self.nhood_size, self.row_batch_size = nhood_size, row_batch_size

    def _evaluate_features(self, real, fake):
        if len(real) <= self.nhood_size:
            raise MetricError(f"{self.name} needs more than {self.nhood_size} images")
        precision, recall = precision_recall(real, fake, self.nhood_size, self.row_batch_size)
        self._report_result(precision, suffix="_precision")
        self._report_result(recall, suffix="_recall")
