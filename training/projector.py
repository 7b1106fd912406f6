"""The projector: the dlatents and noise maps with which a generator reproduces a target image (NVIDIA's StyleGAN2
projector, on our networks and our LPIPS).

The algorithm, as the official `projector.py` runs it:

1. the midpoint of W: `dlatent_avg` and `dlatent_std` (the root mean squared distance from it) of 10,000 mapped
   samples, latents `RandomState(123).randn`;
2. start from `dlatent_avg` (one W broadcast to every layer, or with `w_plus` one W per layer) and fresh N(0, 1)
   noise maps; optimize both with Adam (0.9, 0.999, 1e-8) for `num_steps` steps, with
   - the learning rate `0.1 * rampdown * rampup`: a cosine ramp-down over the last 25% of the steps and a linear
     ramp-up over the first 5% (`learning_rate_at`),
   - Gaussian noise added to W at each step, `dlatent_std * 0.05 * max(0, 1 - t / 0.75) ** 2` at `t = step /
     num_steps` (`dlatent_noise_at`),
   - loss = LPIPS-VGG16 distance to the target + 1e5 x the noise regularizer (`noise_regularization`),
   - every noise map re-normalized to zero mean and unit variance after every step.

The LPIPS input (`lpips_input`): images larger than 256x256 are box-downscaled to 256 (as official); smaller than
`LPIPS_MIN_RESOLUTION` (64) they are upscaled bilinearly to it (the official projector has no such case: LPIPS
needs at least 16 px, and its VGG16 features of 32 px images are 2x2 at the deepest tap; 64 px are the patches
LPIPS was trained on). Grayscale images are replicated to RGB by LPIPS itself. The noise maps reach the network
through `training.projector_synthesis.NoiseMaps`. Images are NCHW floats in [-1, 1]; targets and outputs uint8 NHWC.
"""
import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from metrics.lpips import load_lpips
from stylegan_tf.errors import InputError
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.sampling import philox_normal
from training import projector_synthesis
from training.train_step import reset_optimizer

DLATENT_AVG_SEED = 123  # official RandomState of the W statistics
LPIPS_MAX_RESOLUTION = 256  # official: larger images are box-downscaled to this
LPIPS_MIN_RESOLUTION = 64  # ours: smaller images are upscaled to this (bilinear)


@dataclasses.dataclass(frozen=True)
class ProjectorOptions:
    """The settings of the projector, with the official names and defaults."""
    num_steps: int = 1000
    dlatent_avg_samples: int = 10000
    initial_learning_rate: float = 0.1
    initial_noise_factor: float = 0.05
    lr_rampdown_length: float = 0.25
    lr_rampup_length: float = 0.05
    noise_ramp_length: float = 0.75
    regularize_noise_weight: float = 1e5
    w_plus: bool = False  #: optimize one W per layer (StyleGAN2-ADA's W+) instead of one W for all
    lpips_resolution: int = None  #: size of the LPIPS input; None: `lpips_resolution(R)`


# ----------------------------------------------------------------------------
# The schedules and the regularizer (closed forms, tested as such).

def learning_rate_at(step, options=ProjectorOptions()):
    """The learning rate of step `step` (0-based): `initial_learning_rate * rampdown * rampup` at `t = step /
    num_steps`, rampdown `0.5 - 0.5 cos(pi min(1, (1 - t) / lr_rampdown_length))`, rampup `min(1, t /
    lr_rampup_length)` (0 at step 0, as official)."""
    t = step / options.num_steps
    rampdown = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1.0 - t) / options.lr_rampdown_length))
    return options.initial_learning_rate * rampdown * min(1.0, t / options.lr_rampup_length)


def dlatent_noise_at(step, dlatent_std, options=ProjectorOptions()):
    """The standard deviation of the noise added to W at step `step`: `dlatent_std * initial_noise_factor *
    max(0, 1 - t / noise_ramp_length) ** 2`, `t = step / num_steps` (zero from 75% of the steps on)."""
    t = step / options.num_steps
    return dlatent_std * options.initial_noise_factor * max(0.0, 1.0 - t / options.noise_ramp_length) ** 2


def noise_regularization(noise_maps):
    """The official noise regularizer of maps `[1, 1, H, W]`: for each map, at its size and at every 2x2-mean
    downscale of it down to 8x8 (a map of 8x8 or less counts once), the squared mean of the map times itself
    shifted (cyclically) by one pixel in x, plus the same in y; summed. Scalar float32."""
    total = tf.constant(0.0)
    for noise_map in noise_maps:
        v = tf.cast(noise_map, tf.float32)
        size = int(v.shape[-1])
        while True:
            total += tf.square(tf.reduce_mean(v * tf.roll(v, shift=1, axis=3)))
            total += tf.square(tf.reduce_mean(v * tf.roll(v, shift=1, axis=2)))
            if size <= 8:
                break
            v = tf.reduce_mean(tf.reshape(v, [1, 1, size // 2, 2, size // 2, 2]), axis=[3, 5])
            size //= 2
    return total


def normalized(noise_map):
    """`noise_map` shifted and scaled to zero mean and unit (population) variance, as official after every step."""
    centered = noise_map - tf.reduce_mean(noise_map)
    return centered * tf.math.rsqrt(tf.reduce_mean(tf.square(centered)))


def lpips_resolution(resolution):
    """The size the LPIPS input has for a network of `resolution`: 256 above 256, `LPIPS_MIN_RESOLUTION` below it,
    else the resolution itself."""
    return min(max(int(resolution), LPIPS_MIN_RESOLUTION), LPIPS_MAX_RESOLUTION)


def lpips_input(images, size):
    """Float images `[N, C, R, R]` -> `[N, C, size, size]`: box-downscaled by the integer factor `R // size` when
    larger (official), upscaled bilinearly when smaller, unchanged otherwise."""
    res = int(images.shape[-1])
    if res > size:
        factor = res // size
        channels = int(images.shape[1])
        return tf.reduce_mean(tf.reshape(images, [-1, channels, size, factor, size, factor]), axis=[3, 5])
    if res < size:
        nhwc = tf.image.resize(tf.transpose(images, [0, 2, 3, 1]), [size, size], method="bilinear")
        return tf.transpose(nhwc, [0, 3, 1, 2])
    return images


def dlatent_stats(Gs, num_samples=10000, batch_size=1000, seed=DLATENT_AVG_SEED):  # noqa: N803
    """`(dlatent_avg [D] float32, dlatent_std float)` of `num_samples` mapped latents `RandomState(seed).randn`
    (official: the first layer's dlatent; std: root mean squared distance to the average). A conditional network's
    samples take random classes (uniform, from the same RandomState after the latents)."""
    rng = np.random.RandomState(seed)
    latent_size, label_size = Gs.input_shapes[0][1], Gs.input_shapes[1][1]
    latents = rng.randn(num_samples, latent_size).astype(np.float32)
    labels = np.zeros([num_samples, label_size], np.float32)
    if label_size:
        labels[np.arange(num_samples), rng.randint(label_size, size=num_samples)] = 1
    mapping = tf.function(lambda z, c: Gs.mapping(z, c)[:, 0], autograph=False)
    dlatents = np.concatenate([mapping(latents[i:i + batch_size], labels[i:i + batch_size]).numpy()
                               for i in range(0, num_samples, batch_size)]).astype(np.float64)
    avg = dlatents.mean(axis=0)
    std = math.sqrt(np.sum(np.square(dlatents - avg)) / num_samples)
    return avg.astype(np.float32), std


# ----------------------------------------------------------------------------
# The projector.

class Projector:
    """Projects target images into a StyleGAN generator `Gs`, one at a time (the official `Projector`).

    `start(target, seed)` sets a target (uint8 `[R, R, C]`, the network's resolution and channels) and the initial
    state; `step()` runs one optimization step and returns `(lpips_distance, loss)`; `get_dlatents()` `[1,
    num_layers, D]`, `get_noises()` (`[1, 1, H, W]` per noise layer) and `get_images()` (uint8 `[1, R, R, C]`) read
    the current projection (without the W noise). The W statistics are computed once, here. `lpips`: an LPIPS-VGG16
    model (default: `metrics.lpips.load_lpips()`, `WeightsMissingError` if not fetched); `jit_compile`: XLA.
    """

    def __init__(self, Gs, options=ProjectorOptions(), lpips=None, jit_compile=False):  # noqa: N803
        if getattr(Gs, "mapping", None) is None or not hasattr(Gs, "synthesis"):
            raise InputError(f"{Gs.build_func_name} has no mapping network: there is no W space to project into "
                             f"(the projector needs a StyleGAN generator)")
        if options.num_steps < 1:
            raise InputError(f"the number of steps must be >= 1, got {options.num_steps}")
        self.Gs, self.options = Gs, options
        _, self.num_channels, self.resolution, _ = Gs.official_output_shape
        self.lod = float(Gs.lod.numpy())
        self.lpips_resolution = options.lpips_resolution or lpips_resolution(self.resolution)
        self.lpips = lpips if lpips is not None else load_lpips("vgg16")
        self.dlatent_avg, self.dlatent_std = dlatent_stats(Gs, options.dlatent_avg_samples)
        num_layers, dlatent_size = Gs.num_layers, self.dlatent_avg.shape[0]
        self._dlatents = tf.Variable(tf.zeros([1, num_layers if options.w_plus else 1, dlatent_size]),
                                     name="dlatents")
        self._noises = [tf.Variable(tf.zeros(shape), name=f"noise{i}")
                        for i, shape in enumerate(projector_synthesis.noise_map_shapes(Gs.synthesis))]
        self._target = tf.Variable(tf.zeros([1, self.num_channels, self.lpips_resolution, self.lpips_resolution]),
                                   name="target")
        self._optimizer = keras.optimizers.Adam(learning_rate=options.initial_learning_rate, beta_1=0.9,
                                                beta_2=0.999, epsilon=1e-8, name="projector")
        self._optimizer.build([self._dlatents, *self._noises])
        self._step = tf.function(self._step_graph, jit_compile=jit_compile, autograph=False)
        self._images = tf.function(self._images_graph, jit_compile=jit_compile, autograph=False)
        self.seed, self.cur_step, self.target = None, None, None

    # Graphs.
    def _broadcast(self, dlatents):
        return tf.broadcast_to(dlatents, [1, self.Gs.num_layers, dlatents.shape[2]])

    def _synthesize(self, dlatents):
        return tf.cast(projector_synthesis.synthesize(self.Gs, self._broadcast(dlatents), self._noises, self.lod),
                       tf.float32)

    def _distance(self, images):
        return self.lpips([lpips_input(images, self.lpips_resolution), tf.convert_to_tensor(self._target)])

    def _step_graph(self, learning_rate, dlatent_noise, noise_key):
        self._optimizer.learning_rate.assign(learning_rate)
        variables = [self._dlatents, *self._noises]
        with tf.GradientTape() as tape:
            w_noise = philox_normal(self._dlatents.shape, noise_key) * dlatent_noise
            distance = self._distance(self._synthesize(self._dlatents + w_noise))
            loss = tf.reduce_sum(distance) + noise_regularization(self._noises) * self.options.regularize_noise_weight
        self._optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for noise in self._noises:
            noise.assign(normalized(noise))
        return distance[0], loss

    def _images_graph(self):
        images = self._synthesize(self._dlatents)
        return convert_images_to_uint8(images, nchw_to_nhwc=True), self._distance(images)[0]

    # The official interface.
    def start(self, target, seed=0):
        """Set the target (uint8 `[R, R, C]`) and the initial state: W at `dlatent_avg`, noise maps N(0, 1) drawn
        from `seed` (Philox keys `(seed, -1 - layer)`; the W noise of step k: `(seed, k)`), Adam reset."""
        target = np.asarray(target)
        expected = (self.resolution, self.resolution, self.num_channels)
        if target.shape != expected or target.dtype != np.uint8:
            raise InputError(f"the target must be a uint8 image of shape {list(expected)} (the network's "
                             f"resolution and channels), got {target.dtype} {list(target.shape)}")
        self.target = target
        images = tf.constant(target.transpose(2, 0, 1)[None], tf.float32) / 127.5 - 1
        self._target.assign(lpips_input(images, self.lpips_resolution))
        self._dlatents.assign(tf.broadcast_to(self.dlatent_avg, self._dlatents.shape))
        for layer, noise in enumerate(self._noises):
            noise.assign(philox_normal(noise.shape, tf.constant([seed, -1 - layer], tf.int64)))
        reset_optimizer(self._optimizer)
        self.seed, self.cur_step = int(seed), 0

    def step(self):
        """One optimization step; returns `(LPIPS distance, loss)` of the image it optimized (with the W noise)."""
        if self.cur_step is None:
            raise InputError("the projector has no target: call start(target) first")
        k, o = self.cur_step, self.options
        distance, loss = self._step(tf.constant(learning_rate_at(k, o), tf.float32),
                                    tf.constant(dlatent_noise_at(k, self.dlatent_std, o), tf.float32),
                                    tf.constant([self.seed, k], tf.int64))
        self.cur_step += 1
        return float(distance), float(loss)

    def get_dlatents(self):
        """The projected dlatents `[1, num_layers, D]` float32 (W broadcast to every layer unless `w_plus`)."""
        return self._broadcast(self._dlatents).numpy()

    def get_noises(self):
        """The projected noise maps, `[1, 1, H, W]` float32 per noise layer."""
        return [noise.numpy() for noise in self._noises]

    def get_images(self):
        """`(uint8 [1, R, R, C], LPIPS distance)` of the current projection."""
        images, distance = self._images()
        return images.numpy(), float(distance)


@dataclasses.dataclass
class Projection:
    """The result of projecting one target: `dlatents [1, num_layers, D]`, `noises` (`[1, 1, H, W]` per noise
    layer), `image` uint8 `[R, R, C]` (the projection), `target` uint8 `[R, R, C]`, its `lpips_distance`, and the
    `frames` uint8 `[R, R, C]` after each of the requested steps."""
    dlatents: np.ndarray
    noises: list
    image: np.ndarray
    target: np.ndarray
    lpips_distance: float
    frames: list


def project(projector, target, seed=0, frame_steps=(), callback=None):
    """Run `projector` (a `Projector`) on `target` (uint8 `[R, R, C]`) for its `num_steps`; returns a `Projection`.

    `frame_steps`: the step counts (1 ... num_steps) after which the current image is kept in `frames` (a video of
    the progress); `callback(step, num_steps, lpips_distance)` is called after every step."""
    projector.start(target, seed)
    num_steps, wanted, frames = projector.options.num_steps, set(frame_steps), []
    while projector.cur_step < num_steps:
        distance, _ = projector.step()
        if projector.cur_step in wanted:
            frames.append(projector.get_images()[0][0])
        if callback is not None:
            callback(projector.cur_step, num_steps, distance)
    image, distance = projector.get_images()
    return Projection(projector.get_dlatents(), projector.get_noises(), image[0], np.asarray(target), distance,
                      frames)
