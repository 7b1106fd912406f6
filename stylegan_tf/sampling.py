"""Sampling a generator `Gs`: truncation, reproducible noise images, and batched generation in cached `tf.function`s.

`Sampler` serves a generator with a mapping network: StyleGAN's `G_style` or StyleGAN2's `G_main` (mapping, truncation,
synthesis, three noise modes); `ProGANSampler` a ProGAN one
(`G_paper`: no mapping network, so no dlatents, truncation or noise inputs); `make_sampler` picks. Both hand back
uint8 images `[N, R, R, C]` (NHWC, `stylegan_tf.images.convert_images_to_uint8`). Layouts: latents
`[N, latent_size]`, labels `[N, label_size]`, dlatents `[N, num_layers, dlatent_size]`, the networks' float images
`[N, C, R, R]` (NCHW).
"""
import math

import numpy as np
import tensorflow as tf

from stylegan_tf.errors import InputError
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.seeds import latents_from_seeds, noise_seeds

NOISE_MODES = ("const", "random", "none")


def _check_noise_mode(mode):
    if mode not in NOISE_MODES:
        raise InputError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {mode!r}")


# ----------------------------------------------------------------------------
# Tensor functions (usable inside tf.function).

def truncation_args(truncation_psi, truncation_cutoff):
    """Official `None` (disabled) settings as numbers: psi `None` -> 1.0, cutoff `None` -> 0. A psi that is not a
    finite number is an `InputError` (it would give blank images)."""
    psi = 1.0 if truncation_psi is None else float(truncation_psi)
    if not math.isfinite(psi):
        raise InputError(f"truncation psi {psi} is not a finite number")
    return psi, 0 if truncation_cutoff is None else int(truncation_cutoff)


def truncate(Gs, dlatents, truncation_psi, truncation_cutoff):  # noqa: N803
    """The truncation trick of `Gs` with tensor settings: layers `< truncation_cutoff` of `dlatents
    [N, num_layers, D]` become `lerp(dlatent_avg, w, truncation_psi)`. As official, psi exactly 1 or cutoff <= 0
    leaves them untouched."""
    psi = tf.cast(truncation_psi, tf.float32)
    cutoff = tf.cast(truncation_cutoff, tf.int32)
    truncated = tf.cast(Gs.truncation(dlatents, Gs.dlatent_avg, psi=psi, cutoff=cutoff), dlatents.dtype)
    return tf.where(tf.logical_and(psi != 1, cutoff > 0), truncated, dlatents)


def philox_normal(shape, seed):
    """Standard normal float32 numbers of static `shape` from the stateless Philox bits of `seed` (`[2]` int64) by
    Box-Muller: the same with and without XLA (TensorFlow's own stateless normal and uniform floats differ under XLA;
    its Philox integers do not)."""
    n = int(np.prod(shape))
    bits = tf.random.stateless_uniform([2, (n + 1) // 2], seed, minval=None, maxval=None, dtype=tf.uint32,
                                       alg="philox")
    u = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * (2.0 ** -24)  # in (0, 1)
    radius, angle = tf.sqrt(-2.0 * tf.math.log(u[0])), (2.0 * np.pi) * u[1]
    return tf.reshape(tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], 0)[:n], shape)


class NoiseImages:
    """Per-layer noise images for a synthesis network (StyleGAN's `G_synthesis`, StyleGAN2's), reproducible per image.

    Passed to `Gs.synthesis` as `rng` with `randomize_noise=True`: the synthesis network asks `rng.normal(shape,
    dtype)` once per noise layer, in layer order, for an `[N, 1, H, W]` (NCHW) or `[N, H, W, 1]` (NHWC) batch; both
    hold the same values in the same order, so images do not depend on the layout. Noise layer i is the one of the
    network's `noise_vars[i]` (`noise<i>`). Modes:

    - `'const'`: the stored `noise<i>` variables, as one `[1, ...]` image for the whole batch, exactly what the
      network uses with `randomize_noise=False` (same shape, so the same computation and the same bits; with a
      mask, times the mask);
    - `'random'`: standard normal noise; for the image whose row of `keys [N, 2]` is `(seed, draw)`, at layer `i`,
      `philox_normal` with seed `[seed, draw * MAX_LAYERS + i]` (an image does not depend on the batch it is in,
      nor on XLA);
    - `'none'`: zeros.

    `mask`: optional `[num_layers]` float tensor multiplying each layer's noise (0/1 selects the layers with noise,
    as the official figure 5). The layer is known from the size of the request and the number of requests at that
    size so far: the noise layers of a resolution (StyleGAN: two at each; StyleGAN2: one at 4x4, two above) are
    asked for in order, cyclically, so a synthesis call that Keras traces twice still gets the right noise. Use a
    new instance per call.
    """

    MAX_LAYERS = 1024

    def __init__(self, synthesis, mode, keys=None, mask=None):
        _check_noise_mode(mode)
        if mode == "random" and keys is None:
            raise InputError("noise mode 'random' needs the noise keys of the images (see seeds.noise_seeds)")
        self.synthesis, self.mode, self.keys = synthesis, mode, keys
        self.mask = mask
        self._layers_at = {}  # resolution -> its noise layers, in order
        for layer, var in enumerate(synthesis.noise_vars):
            self._layers_at.setdefault(int(var.shape[-1]), []).append(layer)
        self._requests = {}  # resolution -> number of requests so far

    def normal(self, shape, dtype=tf.float32):
        res = max(shape[1], shape[3])  # [N, 1, H, W] or [N, H, W, 1]
        count = self._requests[res] = self._requests.get(res, -1) + 1
        layers = self._layers_at[res]
        layer = layers[count % len(layers)]
        if self.mode == "none":
            noise = tf.zeros([1, *shape[1:]], dtype)
        elif self.mode == "const":
            noise = tf.reshape(tf.cast(self.synthesis.noise_vars[layer], dtype), [1, *shape[1:]])
        else:
            keys = tf.cast(self.keys, tf.int64)
            seeds = tf.stack([keys[:, 0], keys[:, 1] * self.MAX_LAYERS + layer], axis=1)
            noise = tf.map_fn(lambda seed: tf.cast(philox_normal(shape[1:], seed), dtype), seeds,
                              fn_output_signature=dtype)
        return noise if self.mask is None else noise * tf.cast(self.mask[layer], dtype)


def synthesize(Gs, dlatents, noise_mode="const", keys=None, noise_mask=None, lod=None):  # noqa: N803
    """`dlatents [N, num_layers, D]` -> float images `[N, C, R, R]` (NCHW).

    `noise_mode='const'` without `noise_mask` is the official `randomize_noise=False`; otherwise the noise comes from
    `NoiseImages` (`keys`, `noise_mask` as there). `lod`: defaults to `Gs`'s `lod` (what `Gs` itself passes to its
    synthesis network)."""
    lod = Gs.lod if lod is None else lod
    if noise_mode == "const" and noise_mask is None:
        return Gs.synthesis(dlatents, lod=lod, randomize_noise=False)
    noise = NoiseImages(Gs.synthesis, noise_mode, keys, noise_mask)
    return Gs.synthesis(dlatents, lod=lod, randomize_noise=True, rng=noise)


# ----------------------------------------------------------------------------
# Batched generation.

class _BatchedSampler:
    """What the samplers share: the network's shapes, the label of every image (required for conditional
    networks), padded batches of `batch_size`, and the network's `lod`, read once, here."""

    #: whether the generator has a mapping network (dlatents, truncation, style mixing, noise)
    has_mapping = True

    def __init__(self, Gs, batch_size, labels):  # noqa: N803
        self.Gs = Gs
        (_, self.latent_size), (_, self.label_size) = Gs.input_shapes
        _, self.num_channels, self.resolution, _ = Gs.official_output_shape
        if self.label_size and labels is None:
            raise InputError(f"the network is conditional ({self.label_size} classes): a label is needed")
        self.labels = np.zeros([self.label_size], np.float32) if labels is None else (
            np.asarray(labels, np.float32).reshape([self.label_size]))
        if int(batch_size) < 1:
            raise InputError(f"batch size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.lod = float(Gs.lod.numpy())

    def _batched(self, fn, arrays, *args):
        """Run `fn(*batch_of_each_array, *args)` over padded batches; concatenate."""
        n, out = len(arrays[0]), []
        for start in range(0, n, self.batch_size):
            chunk = [a[start:start + self.batch_size] for a in arrays]
            pad = self.batch_size - len(chunk[0])
            chunk = [np.concatenate([c, np.repeat(c[-1:], pad, axis=0)]) if pad else c for c in chunk]
            out.append(fn(*chunk, *args).numpy()[:self.batch_size - pad])
        return np.concatenate(out) if out else np.zeros([0], np.float32)

    def _labels_for(self, latents):
        return np.tile(self.labels, [len(latents), 1])

    def images_for_seeds(self, seeds, truncation_psi=None, truncation_cutoff=None, noise_mode="const"):
        """uint8 images `[len(seeds), R, R, C]` of `seeds` (official latents; random noise keyed `(seed, 0)`)."""
        latents = latents_from_seeds(seeds, self.latent_size)
        return self.generate(latents, truncation_psi, truncation_cutoff, noise_mode, noise_seeds(seeds))


class Sampler(_BatchedSampler):
    """Batched generation from a StyleGAN or StyleGAN2 `Gs` in cached `tf.function`s.

    The mapping (with truncation) and the synthesis (with the uint8 conversion) run in two functions; the synthesis
    is traced once per noise mode (and once more with a noise mask). Every batch is padded to `batch_size`, so XLA
    (`jit_compile`) compiles each function once. `labels`: the `[label_size]` label of every image (required for
    conditional networks). Truncation arguments default to `None` (no truncation, unlike `Gs`'s static psi: 0.7
    for `G_style`, 0.5 for `G_main`).
    """

    def __init__(self, Gs, batch_size=8, jit_compile=False, labels=None):  # noqa: N803
        super().__init__(Gs, batch_size, labels)
        self.num_layers = Gs.num_layers
        self._mapping = tf.function(self._mapping_graph, jit_compile=jit_compile, autograph=False)
        self._synthesis = tf.function(self._synthesis_graph, jit_compile=jit_compile, autograph=False)

    def _mapping_graph(self, latents, labels, truncation_psi, truncation_cutoff):
        dlatents = self.Gs.mapping(latents, labels)
        return truncate(self.Gs, dlatents, truncation_psi, truncation_cutoff)

    def _synthesis_graph(self, dlatents, keys, noise_mask, noise_mode):
        images = synthesize(self.Gs, dlatents, noise_mode, keys, noise_mask, lod=self.lod)
        return convert_images_to_uint8(images, nchw_to_nhwc=True)

    def dlatents(self, latents, truncation_psi=None, truncation_cutoff=None):
        """`latents [N, latent_size]` -> dlatents `[N, num_layers, D]` float32, truncated as official (psi `None`
        disables; cutoff `None` means what it means to `Gs`: no layer for `G_style`, every layer for `G_main`;
        see `truncate`)."""
        latents = np.asarray(latents, np.float32)
        labels = self._labels_for(latents)
        psi, cutoff = truncation_args(truncation_psi, self.Gs.truncation.layers_below(truncation_cutoff,
                                                                                       self.num_layers))
        return self._batched(self._mapping, [latents, labels], tf.constant(psi), tf.constant(cutoff))

    def synthesize(self, dlatents, noise_mode="const", keys=None, noise_layers=None):
        """`dlatents [N, num_layers, D]` -> uint8 images `[N, R, R, C]`.

        `noise_mode`: 'const' (stored noise), 'random' (needs `keys [N, 2]`, see `seeds.noise_seeds`) or 'none';
        `noise_layers`: layers that keep their noise (default all)."""
        _check_noise_mode(noise_mode)
        dlatents = np.asarray(dlatents, np.float32)
        if noise_mode == "random" and keys is None:
            raise InputError("noise mode 'random' needs keys (see seeds.noise_seeds)")
        keys = np.zeros([len(dlatents), 2], np.int64) if keys is None else np.asarray(keys, np.int64)
        mask = None if noise_layers is None else (
            tf.constant(np.isin(np.arange(self.num_layers), list(noise_layers)), tf.float32))
        return self._batched(self._synthesis, [dlatents, keys], mask, noise_mode)

    def generate(self, latents, truncation_psi=None, truncation_cutoff=None, noise_mode="const", keys=None):
        """`latents [N, latent_size]` -> uint8 images `[N, R, R, C]` (mapping, truncation, synthesis: what
        `Gs(latents, labels, ...)` computes)."""
        dlatents = self.dlatents(latents, truncation_psi, truncation_cutoff)
        return self.synthesize(dlatents, noise_mode, keys)


class ProGANSampler(_BatchedSampler):
    """Batched generation from a ProGAN generator (`G_paper`): latents -> uint8 images in one cached `tf.function`
    (padded batches, as `Sampler`). There is no mapping network, hence no dlatents, truncation, style mixing or noise
    inputs."""

    has_mapping = False

    def __init__(self, Gs, batch_size=8, jit_compile=False, labels=None):  # noqa: N803
        super().__init__(Gs, batch_size, labels)
        self._generate = tf.function(self._generate_graph, jit_compile=jit_compile, autograph=False)

    def _generate_graph(self, latents, labels):
        return convert_images_to_uint8(self.Gs(latents, labels, lod=self.lod), nchw_to_nhwc=True)

    def generate(self, latents, truncation_psi=None, truncation_cutoff=None, noise_mode="const", keys=None):
        """`latents [N, latent_size]` -> uint8 images `[N, R, R, C]`. Truncation must be disabled (`truncation_args`
        semantics); `noise_mode` and `keys` have no effect."""
        del keys  # no noise inputs
        _check_noise_mode(noise_mode)
        psi, cutoff = truncation_args(truncation_psi, truncation_cutoff)
        if psi != 1 and cutoff > 0:
            raise InputError(f"{self.Gs.build_func_name} has no truncation (no mapping network)")
        latents = np.asarray(latents, np.float32)
        return self._batched(self._generate, [latents, self._labels_for(latents)])


def make_sampler(Gs, batch_size=8, jit_compile=False, labels=None):  # noqa: N803
    """`Sampler` for a StyleGAN or StyleGAN2 `Gs`, `ProGANSampler` for a generator without a mapping network."""
    cls = Sampler if getattr(Gs, "mapping", None) is not None else ProGANSampler
    return cls(Gs, batch_size=batch_size, jit_compile=jit_compile, labels=labels)
