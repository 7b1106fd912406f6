"""Multi-scale sliced Wasserstein distance (ProGAN's ``sliced_wasserstein.py``; Karras et al. 2018, section 5).

Each image (uint8, [0, 255]) is split into a Laplacian pyramid with one level per resolution from the full one
down to 16x16 (5x5 Gaussian ``[1, 4, 6, 4, 1]^2 / 256`` with mirrored edges, as ``cv2.pyrDown``/``pyrUp``); from
every level ``nhoods_per_image`` random ``nhood_size`` x ``nhood_size`` neighbourhoods are taken as descriptors
``[C * 7 * 7]``. Per level, each set of descriptors is normalized per channel (its own mean and standard
deviation), and the sliced Wasserstein distance between the reals' and the fakes' descriptors is the mean
absolute difference of their sorted projections on ``dirs_per_repeat`` random unit directions, averaged over
``dir_repeats`` draws. Results, x1e3 as official: ``<name>_<resolution>`` per level and ``<name>_avg``.

ProGAN used 16,384 images (2^21 descriptors per level). Unlike ProGAN, which requires RGB, 1-channel images give
``[7 * 7]`` descriptors. Random draws (positions, directions) come from ``RandomState(seed)``.
"""
import numpy as np

from metrics.metric_base import MetricBase, progress_bar
from metrics.sources import MetricError

_GAUSSIAN_1D = np.float32([1, 4, 6, 4, 1]) / 16  # its outer product is the official 5x5 filter / 256
MIN_RESOLUTION = 16


def _gaussian_blur(images):
    """5x5 Gaussian of NCHW float32 ``images``, edges mirrored without repeating the edge pixel (``d c b | a b c``,
    scipy.ndimage's 'mirror')."""
    h, w = images.shape[2:]
    padded = np.pad(images, [(0, 0), (0, 0), (2, 2), (2, 2)], mode="reflect")
    rows = sum(k * padded[:, :, i:i + h, :] for i, k in enumerate(_GAUSSIAN_1D))
    return sum(k * rows[:, :, :, i:i + w] for i, k in enumerate(_GAUSSIAN_1D))


def pyr_down(images):
    """Blur and keep every second pixel (``cv2.pyrDown``): ``[N, C, H, W]`` -> ``[N, C, H/2, W/2]``."""
    return _gaussian_blur(images)[:, :, ::2, ::2]


def pyr_up(images):
    """Insert zeros between the pixels and blur with 4x the filter (``cv2.pyrUp``): -> ``[N, C, 2H, 2W]``."""
    n, c, h, w = images.shape
    up = np.zeros([n, c, 2 * h, 2 * w], np.float32)
    up[:, :, ::2, ::2] = images
    return 4 * _gaussian_blur(up)


def laplacian_pyramid(images, num_levels):
    """``num_levels`` float32 NCHW levels: band-pass differences at the full, 1/2, ... resolution, and the
    low-pass residual last."""
    pyramid = [np.asarray(images, np.float32)]
    for _ in range(1, num_levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def get_descriptors(level, nhood_size, nhoods_per_image, rng):
    """``nhoods_per_image`` random neighbourhoods per image of ``level`` ``[N, C, H, W]`` ->
    ``[N * nhoods_per_image, C, nhood_size, nhood_size]`` (the neighbourhoods of image i first)."""
    n, c, h, w = level.shape
    count, half = nhoods_per_image * n, nhood_size // 2
    nhood, chan, y, x = np.ogrid[0:count, 0:c, -half:half + 1, -half:half + 1]
    image = nhood // nhoods_per_image
    x = x + rng.randint(half, w - half, size=(count, 1, 1, 1))
    y = y + rng.randint(half, h - half, size=(count, 1, 1, 1))
    return level[image, chan, y, x]


def finalize_descriptors(descriptors):
    """Concatenate ``[M, C, k, k]`` parts, normalize each channel to zero mean and unit variance -> ``[M, C*k*k]``."""
    desc = np.concatenate(descriptors)
    desc -= np.mean(desc, axis=(0, 2, 3), keepdims=True)
    desc /= np.std(desc, axis=(0, 2, 3), keepdims=True)
    return desc.reshape(len(desc), -1)


def sliced_wasserstein(a, b, dir_repeats, dirs_per_repeat, rng, dirs_per_chunk=32):
    """Sliced Wasserstein distance of descriptor sets ``a``, ``b`` ``[M, D]`` (same shape): mean over
    ``dir_repeats`` draws of ``dirs_per_repeat`` random unit directions of ``mean |sort(a.d) - sort(b.d)|``.
    Directions are projected ``dirs_per_chunk`` at a time to bound the memory."""
    results = []
    for _ in range(dir_repeats):
        dirs = rng.randn(a.shape[1], dirs_per_repeat)
        dirs = (dirs / np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))).astype(np.float32)
        total = 0.0
        for begin in range(0, dirs_per_repeat, dirs_per_chunk):
            chunk = dirs[:, begin:begin + dirs_per_chunk]
            proj_a = np.sort((a @ chunk).T, axis=1)
            proj_b = np.sort((b @ chunk).T, axis=1)
            total += np.sum(np.abs(proj_a - proj_b), dtype=np.float64)
        results.append(total / (a.shape[0] * dirs_per_repeat))
    return float(np.mean(results))


class SWD(MetricBase):
    """``swd``: the sliced Wasserstein distance per pyramid level of ``num_images`` fakes and as many reals."""

    def __init__(self, name, num_images, nhood_size=7, nhoods_per_image=128, dir_repeats=4, dirs_per_repeat=128,
                 **kwargs):
        super().__init__(name, num_images, **kwargs)
        self.nhood_size, self.nhoods_per_image = nhood_size, nhoods_per_image
        self.dir_repeats, self.dirs_per_repeat = dir_repeats, dirs_per_repeat

    def _evaluate(self, Gs, reals):  # noqa: N803
        fakes = self._fakes(Gs, reals)
        resolutions = [r for r in (reals.resolution >> i for i in range(16)) if r >= MIN_RESOLUTION]
        if not resolutions:
            raise MetricError(f"{self.name} needs images of at least {MIN_RESOLUTION}x{MIN_RESOLUTION}")
        rng = np.random.RandomState(self.seed)
        desc_real = self._descriptors(reals, len(resolutions), rng)
        desc_fake = self._descriptors(fakes, len(resolutions), rng)
        distances = [sliced_wasserstein(r, f, self.dir_repeats, self.dirs_per_repeat, rng) * 1e3
                     for r, f in zip(desc_real, desc_fake)]
        for resolution, distance in zip(resolutions, distances):
            self._report_result(distance, suffix=f"_{resolution}")
        self._report_result(np.mean(distances), suffix="_avg")

    def _descriptors(self, source, num_levels, rng):
        """Normalized descriptors ``[N * nhoods_per_image, C * 7 * 7]`` of each pyramid level of ``source``."""
        parts = [[] for _ in range(num_levels)]
        done = 0
        with progress_bar(self.num_images, f"{self.name}: descriptors of {self.num_images} images of "
                                           f"'{source.name}'") as bar:
            for images in source.iterate(self.num_images, self.minibatch_size):
                for level, pyramid_level in enumerate(laplacian_pyramid(images, num_levels)):
                    parts[level].append(get_descriptors(pyramid_level, self.nhood_size, self.nhoods_per_image, rng))
                done += len(images)
                bar.set(done)
        return [finalize_descriptors(p) for p in parts]
