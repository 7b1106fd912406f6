"""Fréchet Inception Distance (official ``frechet_inception_distance.py``; Heusel et al. 2017).

FID = ``|mu_f - mu_r|^2 + tr(S_f + S_r - 2 (S_f S_r)^(1/2))`` between Gaussians fitted to the Inception-v3 ``pool_3``
features of ``num_images`` generated and ``num_images`` real images (the first ones in stored order; their
features are cached per dataset). The official code takes the matrix square root with ``scipy.linalg.sqrtm``;
only its trace is needed, and ``tr (S_f S_r)^(1/2) = sum sqrt(eig(S_r^(1/2) S_f S_r^(1/2)))`` with symmetric
eigendecompositions (NumPy only, and stable for the rank-deficient covariances of fewer than 2048 images).
"""
import numpy as np

from metrics.features import FeatureMetric


def feature_statistics(features):
    """Mean ``[D]`` and covariance ``[D, D]`` (float64, ``np.cov`` with N - 1) of features ``[N, D]``."""
    features = np.asarray(features, np.float64)
    return np.mean(features, axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix):
    """Square root of a symmetric positive semi-definite matrix (negative rounding-error eigenvalues -> 0)."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """The Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (means ``[D]``, covariances
    ``[D, D]``), as a float."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root = _psd_sqrt(sigma2)
    product = root @ sigma1 @ root
    trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((product + product.T) / 2), 0, None)))
    return float(np.sum(np.square(mu1 - mu2)) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


class FID(FeatureMetric):
    """``fid<N>k``: FID of ``num_images`` generated images against as many real ones."""

    def _evaluate_features(self, real, fake):
        self._report_result(frechet_distance(*feature_statistics(fake), *feature_statistics(real)))
