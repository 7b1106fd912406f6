"""Kernel Inception Distance (Bińkowski et al. 2018), as StyleGAN2-ADA's ``kernel_inception_distance.py``.

The unbiased MMD^2 estimate with the cubic polynomial kernel ``k(x, y) = (x.y / D + 1)^3`` between the Inception
features of generated and real images, averaged over ``num_subsets`` random subsets of ``max_subset_size``
images of each (fewer when fewer images are used). Same features and cache as FID.
"""
import numpy as np

from metrics.features import FeatureMetric
from metrics.sources import MetricError


def kernel_distance(real_features, fake_features, num_subsets=100, max_subset_size=1000, seed=0):
    """KID between features ``[N_r, D]`` and ``[N_f, D]`` (float)."""
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    dim = real.shape[1]
    m = min(len(real), len(fake), max_subset_size)
    rng = np.random.RandomState(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        a = (x @ x.T / dim + 1) ** 3 + (y @ y.T / dim + 1) ** 3
        b = (x @ y.T / dim + 1) ** 3
        total += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(total / num_subsets / m)


class KID(FeatureMetric):
    """``kid<N>k``: KID of ``num_images`` generated images against as many real ones."""

    def __init__(self, name, num_images, num_subsets=100, max_subset_size=1000, **kwargs):
        super().__init__(name, num_images, **kwargs)
        self.num_subsets = num_subsets
        self.max_subset_size = max_subset_size

    def _evaluate_features(self, real, fake):
        if len(real) < 2:
            raise MetricError(f"{self.name} needs at least 2 images")
        self._report_result(kernel_distance(real, fake, self.num_subsets, self.max_subset_size, self.seed),
                            fmt="%-10.6f")
