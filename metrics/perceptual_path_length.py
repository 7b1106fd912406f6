"""Perceptual path length (official ``perceptual_path_length.py``; StyleGAN paper section 4.2).

For ``num_images`` pairs of latents ``z0, z1 ~ N(0, I)`` and ``t ~ U(0, 1)`` (``sampling='full'``) or ``t = 0``
(``'end'``), the images at ``t`` and ``t + epsilon`` along the path are compared with LPIPS, and the distance is
scaled by ``1 / epsilon**2``. ``space='z'`` slerps the latents (the official slerp, on unit vectors) and maps
both ends; ``space='w'`` maps ``z0`` and ``z1`` and lerps the dlatents. As official: epsilon 1e-4, no
truncation, the same noise for both images of a pair, images cropped to the face region
``[:, :, 3c:7c, 2c:6c]`` with ``c = resolution // 8`` (``crop=False`` keeps the whole image: the StyleGAN2 choice
for non-face data), box-downscaled to 256x256 when larger, LPIPS-VGG16 distance; distances outside the 1st to
99th percentile are dropped before averaging.

Reproducible: pair i of batch b uses ``RandomState(seed)`` draws in batch order (``2B`` latents, official
interleaving ``z0 = even rows, z1 = odd rows``, then ``B`` values of t) and noise keyed ``(seed, i)``.
Conditional networks get one random dataset label per pair.
"""
import numpy as np
import tensorflow as tf

from metrics.lpips import MIN_SIZE, load_lpips
from metrics.metric_base import MetricBase, progress_bar
from metrics.sources import MetricError
from stylegan_tf.sampling import synthesize
from stylegan_tf.ops import lerp

SPACES = ("z", "w")
SAMPLINGS = ("full", "end")


def _normalize(v):
    return v / tf.sqrt(tf.reduce_sum(tf.square(v), axis=-1, keepdims=True))


def slerp(a, b, t):
    """The official PPL slerp of ``a``, ``b`` ``[N, Z]`` at ``t`` ``[N, 1]``: on the unit sphere (inputs are
    normalized, the result has length 1)."""
    a, b = _normalize(a), _normalize(b)
    d = tf.reduce_sum(a * b, axis=-1, keepdims=True)
    p = t * tf.math.acos(d)
    c = _normalize(b - d * a)
    return _normalize(a * tf.cos(p) + c * tf.sin(p))


def crop_face(images):
    """The official face crop of NCHW images ``[N, C, R, R]``: rows ``3c:7c``, columns ``2c:6c``, c = R // 8."""
    c = images.shape[2] // 8
    return images[:, :, c * 3:c * 7, c * 2:c * 6]


def downscale_to_256(images):
    """Box-downscale NCHW images larger than 256 pixels by an integer factor (official)."""
    size = images.shape[2]
    if size <= 256:
        return images
    factor = size // 256
    n, c, h, w = images.shape
    return tf.reduce_mean(tf.reshape(images, [-1, c, h // factor, factor, w // factor, factor]), axis=[3, 5])


class PPL(MetricBase):
    """``ppl_<space><sampling>``: mean scaled LPIPS distance of ``num_images`` path segments of ``Gs``."""

    def __init__(self, name, num_images, epsilon=1e-4, space="w", sampling="end", crop=True, net="vgg16",
                 **kwargs):
        super().__init__(name, num_images, **kwargs)
        if space not in SPACES or sampling not in SAMPLINGS:
            raise ValueError(f"space must be one of {SPACES} and sampling one of {SAMPLINGS}")
        self.epsilon, self.space, self.sampling, self.crop, self.net = epsilon, space, sampling, crop, net

    uses_reals = False

    def required_weights(self):
        return (f"lpips_{self.net}",)

    def _evaluate(self, Gs, reals):  # noqa: N803
        if not hasattr(Gs, "synthesis"):
            if hasattr(Gs, "build_func_name"):  # a network without the mapping / synthesis split (ProGAN)
                raise MetricError(f"{self.name} measures a style-based generator (a mapping and a synthesis "
                                  f"network); {Gs.build_func_name} has none")
            raise MetricError(f"{self.name} measures a generator: pass a network, not a dataset")
        resolution = Gs.synthesis.kwargs["resolution"]
        size = resolution // 8 * 4 if self.crop else resolution
        if size < MIN_SIZE[self.net]:
            raise MetricError(f"{self.name}: the {'cropped ' if self.crop else ''}images are {size}x{size}, too "
                              f"small for LPIPS-{self.net} (at least {MIN_SIZE[self.net]}x{MIN_SIZE[self.net]}"
                              + ("; try the _nocrop variant)" if self.crop else ")"))
        lpips = load_lpips(self.net, cache_dir=self.cache_dir)
        latent_size, label_size = Gs.mapping.kwargs["latent_size"], Gs.mapping.kwargs["label_size"]
        if label_size and reals.dataset.label_size != label_size:
            raise MetricError(f"the network is conditional ({label_size} classes) but the dataset is not")

        @tf.function
        def distances(latents, labels, t, keys):
            dlatents = self._path_ends(Gs, latents, labels, t)
            images = synthesize(Gs, dlatents, "random", tf.concat([keys, keys], axis=0))
            images = downscale_to_256(crop_face(images) if self.crop else images)
            n = tf.shape(t)[0]
            return lpips([images[:n], images[n:]]) * (1 / self.epsilon ** 2)

        rng = np.random.RandomState(self.seed)
        label_rng = np.random.RandomState([self.seed, 1])
        all_distances = []
        with progress_bar(self.num_images, f"{self.name}: LPIPS-{self.net} distances of {self.num_images} path "
                                             f"segments", unit="pair") as bar:
            batch = min(self.minibatch_size, self.num_images)
            for begin in range(0, self.num_images, batch):  # the last batch is padded: one trace
                n = min(batch, self.num_images - begin)
                latents = np.zeros([2 * batch, latent_size], np.float32)
                latents[:2 * n] = rng.randn(2 * n, latent_size)
                t = np.zeros([batch], np.float32)
                t[:n] = rng.uniform(0.0, 1.0 if self.sampling == "full" else 0.0, [n])
                labels = np.zeros([batch, label_size], np.float32)
                if label_size:
                    labels[:n] = reals.dataset.get_random_labels_np(n, label_rng)
                keys = np.stack([np.full(batch, self.seed), np.arange(begin, begin + batch)], axis=1).astype(np.int64)
                all_distances.append(distances(latents, labels, t, keys).numpy()[:n])
                bar.set(begin + n)
        all_distances = np.concatenate(all_distances)
        lo = np.percentile(all_distances, 1, method="lower")
        hi = np.percentile(all_distances, 99, method="higher")
        self._report_result(np.mean(all_distances[(lo <= all_distances) & (all_distances <= hi)]))

    def _path_ends(self, Gs, latents, labels, t):  # noqa: N803
        """dlatents ``[2N, L, D]``: the N images at ``t``, then the N at ``t + epsilon``."""
        z0, z1 = latents[0::2], latents[1::2]
        if self.space == "w":  # float32 even under mixed precision: epsilon is below float16 resolution
            w0, w1 = (tf.cast(Gs.mapping(z, labels), tf.float32) for z in (z0, z1))
            t = t[:, None, None]
            return tf.concat([lerp(w0, w1, t), lerp(w0, w1, t + self.epsilon)], axis=0)
        t = t[:, None]
        ends = tf.concat([slerp(z0, z1, t), slerp(z0, z1, t + self.epsilon)], axis=0)
        return Gs.mapping(ends, tf.concat([labels, labels], axis=0))
