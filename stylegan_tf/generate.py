"""Sampling from a StyleGAN generator ``Gs`` (or a ProGAN one, ``G_paper``).

Seeds and latents drawn as in the official examples, batched generation in cached
``tf.function``s with three noise modes, the official uint8 conversion, image grids,
interpolation, the figures of the StyleGAN paper (the official ``generate_figures.py``
set, scaled to the network's resolution). ProGAN generators have no mapping network, so
only what works on latents applies to them (``ProGANSampler``: images, interpolation in z).

Layouts: the networks take and give NCHW (images ``[N, C, R, R]`` float32 in about
[-1, 1]); images this module hands back for files are uint8 NHWC ``[N, R, R, C]`` (single
images ``[H, W, C]``), as the official ``convert_images_to_uint8(..., nchw_to_nhwc=True)``
gives them. Latents are ``[N, latent_size]``, labels ``[N, label_size]``, dlatents
``[N, num_layers, dlatent_size]``. Depends only on TensorFlow, NumPy, Pillow and stylegan_tf.
"""
import os
import re

import numpy as np
import PIL.Image
import tensorflow as tf

from stylegan_tf import checkpoints
from stylegan_tf.official import load_network_pkl
from stylegan_tf.ops import lerp

MAX_SEED = 2 ** 32 - 1  # what np.random.RandomState accepts
NOISE_MODES = ("const", "random", "none")
SPACES = ("w", "z")
OFFICIAL_PSIS = (1, 0.7, 0.5, 0, -0.5, -1)  # figure 8
OFFICIAL_STYLE_MIXING = dict(row_seeds=(888, 829, 1898, 1733, 1614, 845),  # figure 3
                             col_seeds=(639, 701, 687, 615, 2268))
_SNAPSHOT = re.compile(r"network-snapshot-(\d+)\.pkl")


# ----------------------------------------------------------------------------
# Networks on disk.

#: help text of the CLIs' --network flag (what ``resolve_network`` accepts)
NETWORK_FLAG_HELP = ("Network: an official-format .pkl snapshot, a checkpoint directory, or a run directory (the "
                     "newest of its network-snapshot-<kimg>.pkl, network-final.pkl and checkpoints).")


def _newest_in_run(run_dir):
    """The newest network a run directory holds: its highest-kimg ``network-snapshot-<kimg>.pkl``,
    ``network-final.pkl`` or the newest checkpoint of ``checkpoints/``, whichever was written last."""
    candidates = []
    snapshots = [(int(m.group(1)), name) for name in os.listdir(run_dir) if (m := _SNAPSHOT.fullmatch(name))]
    if snapshots:
        candidates.append(os.path.join(run_dir, max(snapshots)[1]))
    if os.path.isfile(os.path.join(run_dir, "network-final.pkl")):
        candidates.append(os.path.join(run_dir, "network-final.pkl"))
    checkpoint_dir = checkpoints.run_checkpoint_dir(run_dir)
    if checkpoints.is_checkpoint_dir(checkpoint_dir):
        try:
            candidates.append(checkpoints.checkpoint_prefix(checkpoint_dir))
        except ValueError:
            pass  # networks.json written, no checkpoint yet
    if not candidates:
        raise ValueError(f"{run_dir}: the directory contains no network-snapshot-<kimg>.pkl, network-final.pkl "
                         f"or checkpoints/ with {checkpoints.CONFIG_FILE}")
    return max(candidates, key=lambda p: os.path.getmtime(p if p.endswith(".pkl") else p + ".index"))


def resolve_network(path):
    """The network ``path`` stands for: a ``.pkl`` file or a checkpoint prefix.

    ``path``: an official-format ``.pkl`` file; a checkpoint directory (``stylegan_tf.checkpoints``:
    ``stylegan-convert``'s output or a run's ``checkpoints/``), whose newest checkpoint is taken; or a
    run directory, where the newest of its snapshots, ``network-final.pkl`` and checkpoints is
    taken. Raises ``ValueError`` with a one-line reason for anything else.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if checkpoints.is_checkpoint_dir(path):
            return checkpoints.checkpoint_prefix(path)
        return _newest_in_run(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file or directory")
    if not path.endswith(".pkl"):
        raise ValueError(f"{path}: unknown network file type (expected an official-format .pkl network "
                         f"snapshot, a checkpoint directory or a run directory)")
    return path


def load_networks(path, data_format="auto"):
    """``(G, D, Gs)`` of the network ``path`` stands for (see ``resolve_network``). Raises
    ``ValueError`` (``NetworkPickleError``) for bad input."""
    resolved = resolve_network(path)
    if resolved.endswith(".pkl"):
        return load_network_pkl(resolved, data_format=data_format)
    return checkpoints.load_checkpoint(os.path.dirname(resolved), data_format=data_format, prefix=resolved)


def load_Gs(path, data_format="auto"):  # noqa: N802 (official name)
    """``Gs`` (the generator's moving average) of the network ``path`` stands for (see
    ``resolve_network``). Raises ``ValueError`` (``NetworkPickleError``) for bad input."""
    return load_networks(path, data_format)[2]


# ----------------------------------------------------------------------------
# Seeds, latents, labels.

def _parse_int(text, what):
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise ValueError(f"malformed {what} {text.strip()!r}: expected a non-negative integer")
    return int(text)


def parse_range(text, what="range"):
    """``'3'`` -> ``range(3, 4)``, ``'2-5'`` -> ``range(2, 6)`` (inclusive)."""
    lo, sep, hi = text.partition("-")
    lo = _parse_int(lo, what)
    hi = _parse_int(hi, what) if sep else lo
    if hi < lo:
        raise ValueError(f"malformed {what} {text.strip()!r}: the range is reversed")
    return range(lo, hi + 1)


def parse_seeds(text):
    """``'0-99,123'`` -> ``[0, 1, ..., 99, 123]`` (ranges inclusive, order kept).

    Raises ``ValueError`` for malformed text or seeds outside ``[0, 2**32 - 1]``.
    """
    if not text or not text.strip():
        raise ValueError("no seeds given (expected e.g. '0-99,123')")
    ranges = [parse_range(part, "seed") for part in text.split(",")]
    top = max(r.stop - 1 for r in ranges)
    if top > MAX_SEED:
        raise ValueError(f"seed {top} is out of range: seeds must be in [0, {MAX_SEED}]")
    return [seed for r in ranges for seed in r]


def latents_from_seeds(seeds, latent_size):
    """``[len(seeds), latent_size]`` float32; row i is
    ``np.random.RandomState(seeds[i]).randn(1, latent_size)``, as the official examples draw
    them, so official seeds give the official images."""
    rows = [np.random.RandomState(seed).randn(1, latent_size) for seed in seeds]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros([0, latent_size], np.float32)


def one_hot(class_idx, label_size):
    """The ``[label_size]`` one-hot label of ``class_idx`` (ValueError when out of range)."""
    if not 0 <= class_idx < label_size:
        raise ValueError(f"class {class_idx} is out of range: the network has {label_size} classes "
                         f"(0-{label_size - 1})" if label_size else
                         "a class was given, but the network is unconditional (label_size 0)")
    return np.eye(label_size, dtype=np.float32)[class_idx]


def noise_seeds(seeds, draws=0):
    """``[N, 2]`` int64 keys ``(seed, draw)`` of the per-image noise of ``noise_mode='random'``
    (``seeds`` and ``draws`` broadcast)."""
    seeds, draws = np.broadcast_arrays(np.asarray(seeds, np.int64), np.asarray(draws, np.int64))
    return np.stack([seeds.ravel(), draws.ravel()], axis=1)


# ----------------------------------------------------------------------------
# Tensor functions (usable inside tf.function).

def convert_images_to_uint8(images, drange=(-1, 1), nchw_to_nhwc=False, shrink=1):
    """Official conversion of float images ``[N, C, H, W]`` in ``drange`` to uint8.

    ``x * s + (0.5 - lo * s)`` with ``s = 255 / (hi - lo)``, then a saturating cast (clip to
    [0, 255], truncate), i.e. rounding half up. ``shrink``: box-downscale first;
    ``nchw_to_nhwc``: return ``[N, H, W, C]``.
    """
    images = tf.cast(images, tf.float32)
    if shrink > 1 or nchw_to_nhwc:
        images = tf.transpose(images, [0, 2, 3, 1])  # NHWC: what CPU pooling supports
    if shrink > 1:
        images = tf.nn.avg_pool2d(images, shrink, shrink, "VALID")
        images = images if nchw_to_nhwc else tf.transpose(images, [0, 3, 1, 2])
    scale = 255 / (drange[1] - drange[0])
    return tf.saturate_cast(images * scale + (0.5 - drange[0] * scale), tf.uint8)


def truncation_args(truncation_psi, truncation_cutoff):
    """Official ``None`` (disabled) settings as numbers: psi ``None`` -> 1.0, cutoff ``None`` -> 0."""
    return (1.0 if truncation_psi is None else float(truncation_psi),
            0 if truncation_cutoff is None else int(truncation_cutoff))


def truncate(Gs, dlatents, truncation_psi, truncation_cutoff):  # noqa: N803
    """The truncation trick of ``Gs`` with tensor settings: layers ``< truncation_cutoff``
    become ``lerp(dlatent_avg, w, truncation_psi)``. As official, psi exactly 1 or cutoff
    <= 0 leaves ``dlatents [N, num_layers, D]`` untouched."""
    psi = tf.cast(truncation_psi, tf.float32)
    cutoff = tf.cast(truncation_cutoff, tf.int32)
    truncated = Gs.truncation(dlatents, Gs.dlatent_avg, psi=psi, cutoff=cutoff)
    return tf.where(tf.logical_and(psi != 1, cutoff > 0), truncated, dlatents)


def philox_normal(shape, seed):
    """Standard normal float32 numbers of static ``shape`` from the stateless Philox bits of
    ``seed`` (``[2]`` int64) by Box-Muller: the same with and without XLA (TensorFlow's own
    stateless normal and uniform floats differ under XLA; its Philox integers do not)."""
    n = int(np.prod(shape))
    bits = tf.random.stateless_uniform([2, (n + 1) // 2], seed, minval=None, maxval=None, dtype=tf.uint32,
                                       alg="philox")
    u = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * (2.0 ** -24)  # in (0, 1)
    radius, angle = tf.sqrt(-2.0 * tf.math.log(u[0])), (2.0 * np.pi) * u[1]
    return tf.reshape(tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], 0)[:n], shape)


class NoiseImages:
    """Per-layer noise images for ``G_synthesis``, reproducible per image.

    Passed to ``Gs.synthesis`` as ``rng`` with ``randomize_noise=True``: the synthesis
    network asks ``rng.normal(shape, dtype)`` once per layer, in layer order, for a
    ``[N, 1, H, W]`` (NCHW) or ``[N, H, W, 1]`` (NHWC) batch; both hold the same values in
    the same order, so images do not depend on the layout. Modes: ``'const'`` the stored
    ``noise<i>`` variables, ``'random'`` standard normal noise, for the image whose row of
    ``keys [N, 2]`` is ``(seed, draw)``, at layer ``i``: ``philox_normal`` with seed
    ``[seed, draw * 1024 + i]`` (an image does not depend on the batch it is in, nor on
    XLA), ``'none'`` zeros. ``mask``: optional ``[num_layers]`` float tensor multiplying each
    layer's noise (0/1 selects the layers with noise, as the official figure 5).

    The layer is known from the size of the request and the parity of the requests at that
    size (each resolution has two noise layers, asked for in order), so a synthesis call
    that Keras traces twice still gets the right noise. Use a new instance per call.
    """

    MAX_LAYERS = 1024

    def __init__(self, synthesis, mode, keys=None, mask=None):
        if mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {mode!r}")
        if mode == "random" and keys is None:
            raise ValueError("noise mode 'random' needs the noise keys of the images")
        self.synthesis, self.mode, self.keys = synthesis, mode, keys
        self.mask = mask
        self._requests = {}  # resolution -> number of requests so far

    def normal(self, shape, dtype=tf.float32):
        res = max(shape[1], shape[3])  # [N, 1, H, W] or [N, H, W, 1]
        count = self._requests[res] = self._requests.get(res, -1) + 1
        layer = 2 * (int(np.log2(res)) - 2) + count % 2
        if self.mode == "none":
            return tf.zeros(shape, dtype)
        if self.mode == "const":
            stored = tf.reshape(tf.cast(self.synthesis.noise_vars[layer], dtype), [1, *shape[1:]])
            noise = tf.broadcast_to(stored, shape)
        else:
            keys = tf.cast(self.keys, tf.int64)
            seeds = tf.stack([keys[:, 0], keys[:, 1] * self.MAX_LAYERS + layer], axis=1)
            noise = tf.map_fn(lambda seed: tf.cast(philox_normal(shape[1:], seed), dtype), seeds,
                              fn_output_signature=dtype)
        return noise if self.mask is None else noise * tf.cast(self.mask[layer], dtype)


def synthesize(Gs, dlatents, noise_mode="const", keys=None, noise_mask=None, lod=None):  # noqa: N803
    """``dlatents [N, num_layers, D]`` -> float images ``[N, C, R, R]`` (NCHW).

    ``noise_mode='const'`` without ``noise_mask`` is the official ``randomize_noise=False``;
    otherwise the noise comes from ``NoiseImages`` (``keys``, ``noise_mask`` as there).
    ``lod``: defaults to ``Gs``'s ``lod`` (what ``Gs`` itself passes to its synthesis network).
    """
    lod = Gs.lod if lod is None else lod
    if noise_mode == "const" and noise_mask is None:
        return Gs.synthesis(dlatents, lod=lod, randomize_noise=False)
    noise = NoiseImages(Gs.synthesis, noise_mode, keys, noise_mask)
    return Gs.synthesis(dlatents, lod=lod, randomize_noise=True, rng=noise)


# ----------------------------------------------------------------------------
# Batched generation.

class _BatchedSampler:
    """What the samplers share: the network's shapes, the label of every image (required
    for conditional networks), padded batches of ``batch_size``, and the network's ``lod``,
    read once, here."""

    #: whether the generator has a mapping network (dlatents, truncation, style mixing, noise)
    has_mapping = True

    def __init__(self, Gs, batch_size, labels):  # noqa: N803
        self.Gs = Gs
        (_, self.latent_size), (_, self.label_size) = Gs.input_shapes
        _, self.num_channels, self.resolution, _ = Gs.official_output_shape
        if self.label_size and labels is None:
            raise ValueError(f"the network is conditional ({self.label_size} classes): a label is needed")
        self.labels = np.zeros([self.label_size], np.float32) if labels is None else (
            np.asarray(labels, np.float32).reshape([self.label_size]))
        if int(batch_size) < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.lod = float(Gs.lod.numpy())

    def _batched(self, fn, arrays, *args):
        """Run ``fn(*batch_of_each_array, *args)`` over padded batches; concatenate."""
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
        """Images of ``seeds`` (official latents; random noise keyed ``(seed, 0)``)."""
        latents = latents_from_seeds(seeds, self.latent_size)
        return self.generate(latents, truncation_psi, truncation_cutoff, noise_mode, noise_seeds(seeds))


class Sampler(_BatchedSampler):
    """Batched generation from a StyleGAN ``Gs`` in cached ``tf.function``s.

    The mapping (with truncation) and the synthesis (with the uint8 conversion) run in two
    functions; the synthesis is traced once per noise mode (and once more with a noise mask).
    Every batch is padded to ``batch_size``, so XLA (``jit_compile``) compiles each function
    once. ``labels``: the ``[label_size]`` label of every image (required for conditional
    networks). Truncation arguments default to ``None`` (no truncation, unlike ``Gs``'s
    static psi 0.7).
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
        """``latents [N, latent_size]`` -> dlatents ``[N, num_layers, D]`` float32, truncated
        as official (``None`` disables, see ``truncate``)."""
        latents = np.asarray(latents, np.float32)
        labels = self._labels_for(latents)
        psi, cutoff = truncation_args(truncation_psi, truncation_cutoff)
        return self._batched(self._mapping, [latents, labels], tf.constant(psi), tf.constant(cutoff))

    def synthesize(self, dlatents, noise_mode="const", keys=None, noise_layers=None):
        """``dlatents [N, num_layers, D]`` -> uint8 images ``[N, R, R, C]``.

        ``noise_mode``: 'const' (stored noise), 'random' (needs ``keys`` ``[N, 2]``, see
        ``noise_seeds``) or 'none'; ``noise_layers``: layers that keep their noise.
        """
        dlatents = np.asarray(dlatents, np.float32)
        if noise_mode == "random" and keys is None:
            raise ValueError("noise mode 'random' needs keys (see noise_seeds)")
        keys = np.zeros([len(dlatents), 2], np.int64) if keys is None else np.asarray(keys, np.int64)
        mask = None if noise_layers is None else (
            tf.constant(np.isin(np.arange(self.num_layers), list(noise_layers)), tf.float32))
        return self._batched(self._synthesis, [dlatents, keys], mask, noise_mode)

    def generate(self, latents, truncation_psi=None, truncation_cutoff=None, noise_mode="const", keys=None):
        """``latents [N, latent_size]`` -> uint8 images ``[N, R, R, C]`` (mapping, truncation,
        synthesis: what ``Gs(latents, labels, ...)`` computes)."""
        dlatents = self.dlatents(latents, truncation_psi, truncation_cutoff)
        return self.synthesize(dlatents, noise_mode, keys)


class ProGANSampler(_BatchedSampler):
    """Batched generation from a ProGAN generator (``G_paper``): latents -> uint8 images in
    one cached ``tf.function`` (padded batches, as ``Sampler``). There is no mapping
    network, hence no dlatents, truncation, style mixing or noise inputs."""

    has_mapping = False

    def __init__(self, Gs, batch_size=8, jit_compile=False, labels=None):  # noqa: N803
        super().__init__(Gs, batch_size, labels)
        self._generate = tf.function(self._generate_graph, jit_compile=jit_compile, autograph=False)

    def _generate_graph(self, latents, labels):
        return convert_images_to_uint8(self.Gs(latents, labels, lod=self.lod), nchw_to_nhwc=True)

    def generate(self, latents, truncation_psi=None, truncation_cutoff=None, noise_mode="const", keys=None):
        """``latents [N, latent_size]`` -> uint8 images ``[N, R, R, C]``. Truncation must be
        disabled (``truncation_args`` semantics); ``noise_mode`` and ``keys`` have no effect."""
        del keys  # no noise inputs
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        psi, cutoff = truncation_args(truncation_psi, truncation_cutoff)
        if psi != 1 and cutoff > 0:
            raise ValueError(f"{self.Gs.build_func_name} has no truncation (no mapping network)")
        latents = np.asarray(latents, np.float32)
        return self._batched(self._generate, [latents, self._labels_for(latents)])


def make_sampler(Gs, batch_size=8, jit_compile=False, labels=None):  # noqa: N803
    """``Sampler`` for a StyleGAN ``Gs``, ``ProGANSampler`` for a generator without a mapping network."""
    cls = Sampler if getattr(Gs, "mapping", None) is not None else ProGANSampler
    return cls(Gs, batch_size=batch_size, jit_compile=jit_compile, labels=labels)


# ----------------------------------------------------------------------------
# Images and grids.

def to_pil(image):
    """uint8 ``[H, W, C]`` -> a PIL image ('L' for 1 channel, 'RGB' for 3, 'RGBA' for 4)."""
    image = np.asarray(image, np.uint8)
    return PIL.Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)


def from_pil(image, channels):
    """A PIL image -> uint8 ``[H, W, channels]``."""
    array = np.asarray(image, np.uint8)
    return array[:, :, None] if array.ndim == 2 else array[:, :, :channels]


def save_image(image, path):
    """Write uint8 ``[H, W, C]`` as an image file (format from the extension)."""
    to_pil(image).save(path)


def assemble_grid(rows, fill=255):
    """A grid of equally sized uint8 ``[H, W, C]`` cells (``rows``: list of lists; ``None``
    cells are filled with ``fill``, white by default) -> uint8 ``[rows*H, cols*W, C]``."""
    sample = next(cell for row in rows for cell in row if cell is not None)
    blank = np.full_like(sample, fill)
    cols = max(len(row) for row in rows)
    return np.concatenate([np.concatenate([blank if c is None else c for c in row + [None] * (cols - len(row))],
                                          axis=1) for row in rows], axis=0)


def save_gif(frames, path, fps=24):
    """Write uint8 frames ``[F, H, W, C]`` as a looping GIF (Pillow merges a frame identical
    to the previous one into it)."""
    images = [to_pil(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000 / fps, loop=0)


# ----------------------------------------------------------------------------
# Interpolation.

def slerp(a, b, t):
    """Spherical interpolation along the last axis: ``a [..., Z]``, ``b [..., Z]``, ``t``
    broadcastable to ``[..., 1]``; moves at constant angular speed and falls back to ``lerp``
    where ``a`` and ``b`` are (nearly) parallel."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)
    t = t[..., None] if t.ndim == a.ndim - 1 else t
    cos = np.sum(a * b, -1, keepdims=True) / (np.linalg.norm(a, axis=-1, keepdims=True)
                                              * np.linalg.norm(b, axis=-1, keepdims=True))
    omega = np.arccos(np.clip(cos, -1, 1))
    sin = np.sin(omega)
    parallel = sin < 1e-6
    safe = np.where(parallel, 1.0, sin)
    out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / safe
    return np.where(parallel, lerp(a, b, t), out)


def interpolation_frames(sampler, seeds, num_frames, space="w", truncation_psi=None, truncation_cutoff=None,
                         noise_mode="const"):
    """``num_frames`` uint8 images ``[F, R, R, C]`` along the path through ``seeds`` (first
    and last frames are the first and last seeds): ``space='w'`` lerps the (truncated)
    dlatents, ``'z'`` slerps the latents. Random noise is keyed ``(seeds[0], 0)`` for every
    frame, so it does not flicker."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if space == "w" and not sampler.has_mapping:
        raise ValueError(f"{sampler.Gs.build_func_name} has no mapping network (no w space): interpolate in z")
    if len(seeds) < 2 or num_frames < 2:
        raise ValueError("interpolation needs at least 2 seeds and 2 frames")
    pos = np.linspace(0, len(seeds) - 1, num_frames)
    seg = np.minimum(np.floor(pos).astype(int), len(seeds) - 2)
    frac = (pos - seg)[:, None]
    latents = latents_from_seeds(seeds, sampler.latent_size)
    keys = noise_seeds(np.full(num_frames, seeds[0]))
    if space == "z":
        path = slerp(latents[seg], latents[seg + 1], frac).astype(np.float32)
        return sampler.generate(path, truncation_psi, truncation_cutoff, noise_mode, keys)
    ends = sampler.dlatents(latents, truncation_psi, truncation_cutoff)
    dlatents = lerp(ends[seg], ends[seg + 1], frac[:, :, None]).astype(np.float32)
    return sampler.synthesize(dlatents, noise_mode, keys)


# ----------------------------------------------------------------------------
# Grids of the generate modes.

def style_ranges(num_layers):
    """Coarse, middle and fine style layers, in the proportions of the official 1024x1024
    (18 layers) figure 3: ``[0, 4)``, ``[4, 8)``, ``[8, 18)``, scaled to ``num_layers``."""
    coarse = max(1, round(num_layers * 4 / 18))
    middle = min(max(coarse + 1, round(num_layers * 8 / 18)), num_layers)
    return {"coarse": range(0, coarse), "middle": range(coarse, middle), "fine": range(middle, num_layers)}


def default_row_styles(num_rows):
    """Style-range names for ``num_rows`` style-mixing rows in the official proportions
    (3 coarse, 2 middle, 1 fine for 6 rows)."""
    coarse, middle = round(num_rows / 2), round(num_rows / 3)
    return ["coarse"] * coarse + ["middle"] * middle + ["fine"] * (num_rows - coarse - middle)


def parse_style_range(text, num_layers):
    """``'coarse'``, ``'middle'``, ``'fine'`` (see ``style_ranges``) or layers ``'a-b'``
    (inclusive) -> a range of style layers."""
    named = style_ranges(num_layers)
    if text.strip() in named:
        return named[text.strip()]
    layers = parse_range(text, "style range")
    if layers.stop > num_layers:
        raise ValueError(f"style range {text.strip()!r} is out of range: the network has "
                         f"{num_layers} style layers (0-{num_layers - 1})")
    return layers


def style_mixing_figure(sampler, row_seeds, col_seeds, row_styles, truncation_psi=None, truncation_cutoff=None,
                        noise_mode="const"):
    """The official figure-3 layout, uint8 ``[(rows + 1) R, (cols + 1) R, C]``: the top row
    shows the column seeds, the left column the row seeds, and cell (i, j) the row seed's
    dlatents with the layers ``row_styles[i]`` (ranges) taken from column seed j."""
    if len(row_styles) != len(row_seeds):
        raise ValueError(f"one style range per row seed is needed ({len(row_seeds)} row seeds, "
                         f"{len(row_styles)} style ranges)")
    seeds = list(row_seeds) + list(col_seeds)
    dlatents = sampler.dlatents(latents_from_seeds(seeds, sampler.latent_size), truncation_psi, truncation_cutoff)
    row_w, col_w = dlatents[:len(row_seeds)], dlatents[len(row_seeds):]
    mixed, keys = [], []
    for i, layers in enumerate(row_styles):
        w = np.repeat(row_w[i:i + 1], len(col_seeds), axis=0)
        w[:, list(layers)] = col_w[:, list(layers)]
        mixed.append(w)
        keys.append(np.repeat(noise_seeds([row_seeds[i]]), len(col_seeds), axis=0))
    images = sampler.synthesize(np.concatenate([dlatents] + mixed), noise_mode,
                                np.concatenate([noise_seeds(seeds)] + keys))
    row_img, col_img = images[:len(row_seeds)], images[len(row_seeds):len(seeds)]
    cells = images[len(seeds):].reshape([len(row_seeds), len(col_seeds), *images.shape[1:]])
    return assemble_grid([[None] + list(col_img)] + [[row_img[i]] + list(cells[i]) for i in range(len(row_seeds))])


def truncation_figure(sampler, seeds, psis, truncation_cutoff=None, noise_mode="const"):
    """Psi sweep, uint8 ``[len(seeds) R, len(psis) R, C]``: row = seed, column = psi."""
    latents = latents_from_seeds(seeds, sampler.latent_size)
    dlatents = np.stack([sampler.dlatents(latents, psi, truncation_cutoff) for psi in psis], axis=1)
    keys = np.repeat(noise_seeds(seeds), len(psis), axis=0)
    images = sampler.synthesize(dlatents.reshape([-1, *dlatents.shape[2:]]), noise_mode, keys)
    return assemble_grid([list(row) for row in images.reshape([len(seeds), len(psis), *images.shape[1:]])])


def noise_std_map(images):
    """Official figure-4 standard deviation image of uint8 ``[S, H, W, C]`` samples:
    ``std over samples of the channel mean, * 4``, rounded -> uint8 ``[H, W]``."""
    std = np.std(np.mean(images, axis=3), axis=0) * 4
    return np.clip(std + 0.5, 0, 255).astype(np.uint8)


def _noise_samples(sampler, seed, num_samples, truncation_psi, truncation_cutoff):
    latents = np.repeat(latents_from_seeds([seed], sampler.latent_size), num_samples, axis=0)
    return sampler.generate(latents, truncation_psi, truncation_cutoff, "random",
                            noise_seeds(seed, np.arange(num_samples)))


def stochastic_variation_figure(sampler, seeds, num_samples=100, num_shown=4, truncation_psi=None,
                                truncation_cutoff=None):
    """Noise draws per seed, uint8 ``[len(seeds) R, (num_shown + 2) R, C]``: each row shows
    ``num_shown`` random-noise draws of one seed, then the mean and the (official figure-4)
    standard deviation of ``num_samples`` draws (draw d uses noise keys ``(seed, d)``)."""
    if num_samples < max(num_shown, 2):
        raise ValueError(f"num_samples must be >= max(num_shown, 2), got {num_samples}")
    rows = []
    for seed in seeds:
        images = _noise_samples(sampler, seed, num_samples, truncation_psi, truncation_cutoff)
        mean = np.clip(np.mean(images, axis=0) + 0.5, 0, 255).astype(np.uint8)
        std = np.repeat(noise_std_map(images)[:, :, None], images.shape[3], axis=2)
        rows.append(list(images[:num_shown]) + [mean, std])
    return assemble_grid(rows)


# ----------------------------------------------------------------------------
# The figures of the StyleGAN paper (official generate_figures.py), scaled to any resolution.

def _canvas(width, height, channels):
    return PIL.Image.new("L" if channels == 1 else "RGB", (width, height), "white")


def uncurated_figure(sampler, seed, rows, lods, crop=None, truncation_psi=None, truncation_cutoff=None):
    """Figures 2, 10, 11, 12: columns of uncurated images, a column at ``lod`` holding
    ``rows * 2**lod`` images shrunk ``2**lod`` times (Lanczos). Latents are
    ``RandomState(seed).randn(total, latent_size)`` in one stream, as official; random noise
    keyed ``(seed, index)``. ``crop``: ``(x, y, w, h)`` of each image (default: all of it).
    Size ``sum(w >> lod) x rows * h``."""
    cx, cy, cw, ch = crop or (0, 0, sampler.resolution, sampler.resolution)
    total = sum(rows * 2 ** lod for lod in lods)
    latents = np.random.RandomState(seed).randn(total, sampler.latent_size).astype(np.float32)
    images = iter(sampler.generate(latents, truncation_psi, truncation_cutoff, "random",
                                   noise_seeds(seed, np.arange(total))))
    sizes = [(max(cw >> lod, 1), max(ch >> lod, 1)) for lod in lods]
    canvas = _canvas(sum(w for w, _ in sizes), rows * ch, sampler.num_channels)
    x = 0
    for lod, (w, h) in zip(lods, sizes):
        for row in range(rows * 2 ** lod):
            image = to_pil(next(images)).crop((cx, cy, cx + cw, cy + ch)).resize((w, h), PIL.Image.Resampling.LANCZOS)
            canvas.paste(image, (x, row * h))
        x += w
    return from_pil(canvas, sampler.num_channels)


def noise_detail_figure(sampler, seeds=(1157, 1012), num_samples=100):
    """Figure 4 (stochastic variation), uint8 ``[len(seeds) R, 3 R, C]``: per seed the first
    draw, four draws zoomed 2x on the official crop (650, 180)-(906, 436) of 1024, scaled,
    and the standard deviation of ``num_samples`` draws. No truncation, random noise."""
    res, channels = sampler.resolution, sampler.num_channels
    box = [round(v * res / 1024) for v in (650, 180, 906, 436)]
    box[2:] = [max(box[2], box[0] + 1), max(box[3], box[1] + 1)]
    half = max(res // 2, 1)
    canvas = _canvas(3 * res, len(seeds) * res, channels)
    for row, seed in enumerate(seeds):
        images = _noise_samples(sampler, seed, num_samples, 1, None)
        canvas.paste(to_pil(images[0]), (0, row * res))
        for i in range(4):
            crop = to_pil(images[i + 1]).crop(box).resize((half, half), PIL.Image.Resampling.NEAREST)
            canvas.paste(crop, (res + (i % 2) * half, row * res + (i // 2) * half))
        canvas.paste(PIL.Image.fromarray(noise_std_map(images), "L"), (2 * res, row * res))
    return from_pil(canvas, channels)


def noise_components_figure(sampler, seeds=(1967, 1555), flips=(1,)):
    """Figure 5 (noise in which layers), uint8 ``[2 R, len(seeds) R, C]``: per seed (one
    column; ``flips`` mirrored) the left half of the image with noise in all layers and the
    right half with none (top), the left half with noise in the fine layers and the right
    half with noise in the coarse ones (bottom). Coarse/fine split as ``style_ranges``
    (coarse + middle | fine; 4-32 px | 64-1024 px at 1024 px). No truncation, stored noise."""
    fine = style_ranges(sampler.num_layers)["fine"]
    coarse = range(0, fine.start)
    dlatents = sampler.dlatents(latents_from_seeds(seeds, sampler.latent_size), 1, None)
    ranges = [range(sampler.num_layers), range(0), fine, coarse]
    variants = [sampler.synthesize(dlatents, "const", noise_layers=r) for r in ranges]
    for images in variants:
        images[list(flips)] = images[list(flips), :, ::-1]
    res, half = sampler.resolution, sampler.resolution // 2
    out = np.zeros([2 * res, len(seeds) * res, sampler.num_channels], np.uint8)
    for col in range(len(seeds)):
        x = col * res
        out[:res, x:x + half] = variants[0][col][:, :half]
        out[:res, x + half:x + res] = variants[1][col][:, half:]
        out[res:, x:x + half] = variants[2][col][:, :half]
        out[res:, x + half:x + res] = variants[3][col][:, half:]
    return out


def _figure_specs():
    """``{number: (file name, what it shows, draw(sampler) -> uint8 [H, W, C])}``."""
    def uncurated(official_res, crop, rows, lods, seed):
        def draw(sampler):
            crop_at_res = [round(v * sampler.resolution / official_res) for v in crop]
            psi, cutoff = sampler.Gs.kwargs["truncation_psi"], sampler.Gs.kwargs["truncation_cutoff"]
            return uncurated_figure(sampler, seed, rows, lods, crop_at_res, psi, cutoff)
        return draw

    def style_mixing(sampler):
        spec = OFFICIAL_STYLE_MIXING
        named = style_ranges(sampler.num_layers)
        styles = [named[name] for name in default_row_styles(len(spec["row_seeds"]))]
        return style_mixing_figure(sampler, spec["row_seeds"], spec["col_seeds"], styles)

    def truncation(sampler):
        return truncation_figure(sampler, [91, 388], OFFICIAL_PSIS, sampler.num_layers)

    return {
        2: ("figure02-uncurated.png", "uncurated images (FFHQ layout: 3 rows, lods 0,1,2,2,3,3, seed 5; "
            "network's truncation, random noise), 2.25R x 3R",
            uncurated(1024, (0, 0, 1024, 1024), 3, [0, 1, 2, 2, 3, 3], 5)),
        3: ("figure03-style-mixing.png", "style mixing (official seeds; rows take coarse x3, middle x2, fine "
            "styles from the columns; no truncation, stored noise), 6R x 7R", style_mixing),
        4: ("figure04-noise-detail.png", "stochastic variation (seeds 1157, 1012; 100 random-noise draws: "
            "first draw, 4 zoomed crops, standard deviation; no truncation), 3R x 2R",
            lambda sampler: noise_detail_figure(sampler)),
        5: ("figure05-noise-components.png", "noise in all / no / fine / coarse layers (seeds 1967, 1555; "
            "no truncation), 2R x 2R", lambda sampler: noise_components_figure(sampler)),
        8: ("figure08-truncation-trick.png", "truncation psi 1, 0.7, 0.5, 0, -0.5, -1 on all layers "
            "(seeds 91, 388; stored noise), 6R x 2R", truncation),
        10: ("figure10-uncurated-bedrooms.png", "uncurated, LSUN-bedroom layout (5 rows, lods 0,0,1,1,2,2,2, "
             "seed 0), 3.75R x 5R", uncurated(256, (0, 0, 256, 256), 5, [0, 0, 1, 1, 2, 2, 2], 0)),
        11: ("figure11-uncurated-cars.png", "uncurated, LSUN-car layout (crop y 64-448 of 512, 4 rows, "
             "lods 0,1,2,2,3,3, seed 2), 2.25R x 3R", uncurated(512, (0, 64, 512, 384), 4, [0, 1, 2, 2, 3, 3], 2)),
        12: ("figure12-uncurated-cats.png", "uncurated, LSUN-cat layout (5 rows, lods 0,0,1,1,2,2,2, seed 1), "
             "3.75R x 5R", uncurated(256, (0, 0, 256, 256), 5, [0, 0, 1, 1, 2, 2, 2], 1)),
    }


PAPER_FIGURES = _figure_specs()


def paper_figure(number, sampler):
    """Draw official figure ``number`` (a key of ``PAPER_FIGURES``) for ``sampler``'s network:
    ``(file name, uint8 [H, W, C])``."""
    if number not in PAPER_FIGURES:
        raise ValueError(f"no figure {number}: the official set is {sorted(PAPER_FIGURES)}")
    name, _, draw = PAPER_FIGURES[number]
    return name, draw(sampler)


# ----------------------------------------------------------------------------
# Benchmark.
