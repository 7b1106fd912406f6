"""Synthesis with given noise maps: the `rng` that feeds them to `G_synthesis`, batched images and the figures of
dlatents that come with their own noise maps (projected images).

The synthesis network draws each noise layer's image through its `rng` argument (`randomize_noise=True`): one
`rng.normal(shape, dtype)` request per noise layer, in layer order, with `shape` `[N, 1, H, W]` (NCHW) or
`[N, H, W, 1]` (NHWC). `NoiseMaps` answers those requests with given maps instead of random numbers, so noise maps
become inputs of the network (the projector optimizes them, `stylegan-generate --dlatents` draws with them) without
changing what it computes otherwise: fed the network's own `noise<i>` variables, it gives exactly the images of
`randomize_noise=False`.

Noise maps are lists with one entry per noise variable of the synthesis network (`synthesis.noise_vars`, in order),
each `[N or 1, 1, H, W]` float (NCHW, the layout of the `noise<i>` variables; one map is shared by the batch).
"""
import numpy as np
import tensorflow as tf

from stylegan_tf import figures
from stylegan_tf.errors import InputError
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.ops import lerp


def noise_map_shapes(synthesis):
    """The `[1, 1, H, W]` shape of each noise map of `synthesis`, in the order of its `noise_vars`."""
    return [tuple(int(d) for d in var.shape) for var in synthesis.noise_vars]


def stored_noise_maps(synthesis):
    """The network's own noise maps (its `noise<i>` variables) as float32 arrays `[1, 1, H, W]`."""
    return [np.asarray(var.numpy(), np.float32) for var in synthesis.noise_vars]


class NoiseMaps:
    """`rng` for `G_synthesis` that returns the given noise maps (see the module docstring).

    A request's layer is found from its size and the number of requests of that size so far, counted modulo the
    number of maps of that size: the maps of one size are asked for in order, however many a family has per
    resolution (StyleGAN: two, StyleGAN2: one at 4x4 and two above), and a synthesis call that Keras traces twice
    with the same instance asks the same layers again. Works under `tf.function` and XLA; the maps may be
    variables (gradients flow to them).
    """

    def __init__(self, maps):
        self.maps = list(maps)
        self._layers_of_size = {}  # size -> indices of the maps of that size, in layer order
        for index, noise_map in enumerate(self.maps):
            self._layers_of_size.setdefault(int(noise_map.shape[-1]), []).append(index)
        self._requests = {}  # size -> requests so far

    def normal(self, shape, dtype=tf.float32):
        size = max(int(shape[1]), int(shape[3]))  # [N, 1, H, W] or [N, H, W, 1]
        layers = self._layers_of_size.get(size)
        if not layers:
            raise InputError(f"no noise map of {size}x{size} was given (maps: "
                             f"{sorted(self._layers_of_size) or 'none'})")
        count = self._requests[size] = self._requests.get(size, -1) + 1
        noise_map = self.maps[layers[count % len(layers)]]
        # [N or 1, 1, H, W] holds the same numbers in the same order as [N or 1, H, W, 1].
        return tf.reshape(tf.cast(noise_map, dtype), [-1, *shape[1:]])


def synthesize(Gs, dlatents, noise_maps, lod):  # noqa: N803
    """Float images `[N, C, R, R]` (NCHW) of `dlatents [N, num_layers, D]` with `noise_maps` (see the module
    docstring) at level of detail `lod`. Usable inside `tf.function`."""
    return Gs.synthesis(dlatents, lod=lod, randomize_noise=True, rng=NoiseMaps(noise_maps))


class NoiseMapSampler:
    """uint8 images `[N, R, R, C]` of dlatents, each image with its own noise maps, in batches of `batch_size` in one
    cached `tf.function` (`jit_compile` for XLA). `Gs`: a StyleGAN generator; its `lod` is read once, here."""

    def __init__(self, Gs, batch_size=8, jit_compile=False):  # noqa: N803
        if int(batch_size) < 1:
            raise InputError(f"batch size must be >= 1, got {batch_size}")
        self.Gs, self.batch_size = Gs, int(batch_size)
        self.lod = float(Gs.lod.numpy())
        self.shapes = noise_map_shapes(Gs.synthesis)
        self._synthesize = tf.function(self._graph, jit_compile=jit_compile, autograph=False)

    def _graph(self, dlatents, noise_maps):
        images = synthesize(self.Gs, dlatents, noise_maps, self.lod)
        return convert_images_to_uint8(images, nchw_to_nhwc=True)

    def synthesize(self, dlatents, noise_maps):
        """`dlatents [N, num_layers, D]`, `noise_maps`: per noise layer `[N, 1, H, W]` -> uint8 `[N, R, R, C]`.
        Batches are padded to `batch_size` (one trace)."""
        dlatents = np.asarray(dlatents, np.float32)
        noise_maps = [np.broadcast_to(np.asarray(m, np.float32), [len(dlatents), *shape[1:]])
                      for m, shape in zip(noise_maps, self.shapes)]
        out = []
        for start in range(0, len(dlatents), self.batch_size):
            stop = min(start + self.batch_size, len(dlatents))
            pad = self.batch_size - (stop - start)
            chunk = [np.concatenate([a[start:stop]] + [a[stop - 1:stop]] * pad) for a in [dlatents, *noise_maps]]
            out.append(self._synthesize(chunk[0], chunk[1:]).numpy()[:stop - start])
        return np.concatenate(out)


# ----------------------------------------------------------------------------
# Figures of dlatents with their own noise maps.

def interpolation_frames(sampler, dlatents, noises, num_frames):
    """uint8 `[F, R, R, C]` along the path through `dlatents [P, L, D]` (P >= 2; first and last frames on the first
    and last): the dlatents and each noise map (`[P, 1, H, W]` per layer) lerped alike. `sampler`: a
    `NoiseMapSampler`."""
    if len(dlatents) < 2 or num_frames < 2:
        raise InputError(f"interpolation needs at least 2 dlatents and 2 frames, got {len(dlatents)} and {num_frames}")
    seg, frac = figures.path_positions(len(dlatents), num_frames)
    path = lerp(dlatents[seg], dlatents[seg + 1], frac[:, :, None])
    maps = [lerp(m[seg], m[seg + 1], frac[:, :, None, None]) for m in noises]
    return sampler.synthesize(path, maps)


def style_mixing_figure(sampler, rows, cols, row_styles):
    """`stylegan_tf.figures.style_mixing_grid` of `rows` and `cols`, each `(dlatents [n, L, D], noises)` (`[n, 1, H,
    W]` per noise layer), drawn by the `NoiseMapSampler` `sampler`, each image with its own noise maps (a cell with
    its row's)."""
    noises = [np.concatenate([r, c]) for r, c in zip(rows[1], cols[1])]

    def synthesize(dlatents, sources):
        return sampler.synthesize(dlatents, [m[sources] for m in noises])

    return figures.style_mixing_grid(rows[0], cols[0], row_styles, synthesize)
