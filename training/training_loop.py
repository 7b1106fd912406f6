"""The official training loop (progressive growing) on TensorFlow 2.

Per group of ``minibatch_repeats`` minibatches: evaluate the schedule at ``cur_nimg``
(lod, resolution, minibatch, learning rates), reset Adam when a new lod phase starts,
then run official iterations (D step, Gs update, G step). Each tick (``tick_kimg``) prints
the official tick line to the console and ``log.txt``, writes TensorBoard scalars, and
every ``image_snapshot_ticks`` / ``network_snapshot_ticks`` / ``checkpoint_ticks`` an
image grid (``fakes<kimg>.png``), a network snapshot (``network-snapshot-<kimg>.pkl``,
official format) and a checkpoint (full state: G, D, Gs, both optimizers, RNG, progress).
"""
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

import stylegan_tf
from dnnlib.util import EasyDict, format_time
from stylegan_tf import generate as gen
from stylegan_tf.checkpoints import run_checkpoint_dir, write_config
from stylegan_tf.official import NETWORKS
from training import loss as loss_lib
from training.dataset import load_dataset
from training.run_dir import RunLog, peak_memory_gb
from training.schedule import training_schedule
from training.train_step import TrainStep, gs_beta, reset_optimizer



class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what was kept."""


def grid_size(resolution):
    """Official snapshot grid: about 1920x1080 pixels, 7..32 columns and 4..32 rows."""
    return int(np.clip(1920 // resolution, 7, 32)), int(np.clip(1080 // resolution, 4, 32))


def _network_kwargs(dataset, options):
    shape = dict(num_channels=dataset.num_channels, resolution=dataset.resolution, label_size=dataset.label_size)
    return {**shape, **options.G_args}, {**shape, **options.D_args}


class _Progress(tf.Module):
    """Counters checkpointed with the run."""

    def __init__(self):
        super().__init__()
        self.cur_nimg = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.cur_tick = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.tick_start_nimg = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.prev_lod = tf.Variable(-1.0, dtype=tf.float64, trainable=False)


class TrainingLoop:
    """Everything one run needs: dataset, networks, optimizers, step, checkpoint, logs.

    ``options`` is the EasyDict written to ``training_options.json`` (see ``training.train``).
    ``strategy``: a ``tf.distribute`` strategy (default: the current one).
    """

    def __init__(self, options, run_dir, strategy=None, log=None):
        """``run_dir``: where this process writes (a worker other than the chief of a
        multi-worker run gets a private directory: only the chief writes logs, grids and
        snapshots, but every worker must write its checkpoints)."""
        self.options, self.run_dir = options, run_dir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.is_chief = is_chief(self.strategy)
        self.log = log or RunLog(run_dir if self.is_chief else None)
        o = options
        self.dataset = load_dataset(o.data, mirror_augment=False, **o.get("dataset_args", {}))
        if o.metrics:
            from metrics.metric_defaults import check_metrics
            check_metrics(o.metrics, self.dataset)  # unknown names, missing weights: before any training
        G_kwargs, D_kwargs = _network_kwargs(self.dataset, o)  # noqa: N806
        dtype = "float16" if o.mixed_precision else "float32"
        with self.strategy.scope():
            keras.utils.set_random_seed(o.seed)
            G_cls, D_cls = NETWORKS[o.G_func], NETWORKS[o.D_func]  # noqa: N806
            self.G = G_cls(name="G", data_format=o.data_format, dtype=dtype, **G_kwargs)
            self.D = D_cls(name="D", data_format=o.data_format, dtype=dtype, **D_kwargs)
            self.Gs = G_cls(name="Gs", data_format=o.data_format, dtype=dtype, **G_kwargs)
            self._copy_all(self.G, self.Gs)
            adam = dict(beta_1=o.G_opt_args.beta1, beta_2=o.G_opt_args.beta2, epsilon=o.G_opt_args.epsilon)
            self.G_opt = keras.optimizers.Adam(learning_rate=0.001, name="TrainG", **adam)
            adam = dict(beta_1=o.D_opt_args.beta1, beta_2=o.D_opt_args.beta2, epsilon=o.D_opt_args.epsilon)
            self.D_opt = keras.optimizers.Adam(learning_rate=0.001, name="TrainD", **adam)
            self.step = TrainStep(
                self.G, self.D, self.Gs, self.G_opt, self.D_opt, loss_lib.G_LOSSES[o.G_loss],
                loss_lib.D_LOSSES[o.D_loss], self.strategy, G_loss_args=o.G_loss_args, D_loss_args=o.D_loss_args,
                random_labels=self._random_labels_fn(), mirror_augment=o.mirror_augment,
                style_mixing=o.style_mixing, G_smoothing_kimg=o.G_smoothing_kimg, xla=o.xla,
                loss_scaling=o.mixed_precision, seed=o.seed)
            self.progress = _Progress()
            items = dict(G=self.G, D=self.D, Gs=self.Gs, G_opt=self.G_opt, D_opt=self.D_opt, rng=self.step.rng,
                         progress=self.progress)
            if o.mixed_precision:
                items.update(G_loss_scale=self.step.G_loss_scale.scale, D_loss_scale=self.step.D_loss_scale.scale)
            self.checkpoint = tf.train.Checkpoint(**items)
        self.manager = tf.train.CheckpointManager(self.checkpoint, run_checkpoint_dir(run_dir),
                                                  max_to_keep=2)
        # how to rebuild the networks, so that stylegan-generate / -convert read the checkpoints too
        write_config({"G": self.G, "D": self.D, "Gs": self.Gs}, self.manager.directory)
        self._iterators = {}
        self.writer = tf.summary.create_file_writer(run_dir) if self.is_chief else None

    # -- setup helpers ------------------------------------------------------------
    def _random_labels_fn(self):
        if not self.dataset.label_size:
            return None
        return lambda rng, n: self.dataset.get_random_labels_tf(n)

    @staticmethod
    def _copy_all(src, dst):
        values = dict(src.all_official_variables())
        for name, var in dst.all_official_variables():
            var.assign(values[name])

    def restore(self, resume_dir=None):
        """Continue from the latest checkpoint of run directory ``resume_dir``; otherwise start
        from ``resume_pkl`` if the options name one."""
        o = self.options
        if resume_dir:
            path = tf.train.latest_checkpoint(run_checkpoint_dir(resume_dir))
            if path is None:
                raise TrainingError(f"--resume: no checkpoint in {run_checkpoint_dir(resume_dir)}")
            self.checkpoint.restore(path).assert_existing_objects_matched()
            self.log(f"Resumed from {path} at kimg {self.progress.cur_nimg.numpy() / 1000:.1f}")
            return
        if o.resume_pkl:
            G, D, Gs = stylegan_tf.load_network_pkl(o.resume_pkl, data_format=o.data_format)  # noqa: N806
            for src, dst in ((G, self.G), (D, self.D), (Gs, self.Gs)):
                self._copy_checked(src, dst, o.resume_pkl)
            nimg = int(o.resume_kimg * 1000)
            self.progress.cur_nimg.assign(nimg)
            self.progress.tick_start_nimg.assign(nimg)
            self.log(f"Starting from {o.resume_pkl} at kimg {o.resume_kimg:.1f}")

    @staticmethod
    def _copy_checked(src, dst, path):
        theirs = dict(src.all_official_variables())
        for name, var in dst.all_official_variables():
            if name not in theirs or tuple(theirs[name].shape) != tuple(var.shape):
                raise TrainingError(f"{path}: network '{src.name}' does not fit this run's {dst.name} "
                                    f"(variable {name}); check the dataset resolution, channels and --config")
            var.assign(theirs[name])

    def _iterator(self, lod, minibatch):
        level = math.floor(lod)
        key = (level, minibatch)
        if key not in self._iterators:
            ds = self.dataset.distribute(self.strategy, lod, minibatch, seed=self.options.seed + level)
            self._iterators[key] = iter(ds)
        return self._iterators[key]

    # -- snapshots ----------------------------------------------------------------
    def setup_grid(self):
        o = self.options
        gw, gh = o.grid_size or grid_size(self.dataset.resolution)
        reals, labels = self.dataset.get_minibatch_np(gw * gh)
        self.grid = (gw, gh)
        self.grid_latents = np.random.RandomState(o.seed).randn(gw * gh, self.G.input_shapes[0][1])
        self.grid_labels = labels.astype(np.float32)
        self._fakes_fns = {}
        if self.is_chief:
            self._save_grid(reals, "reals.png", drange=self.dataset.dynamic_range)

    def _save_grid(self, images, name, drange=(-1, 1)):
        """Write ``images [N, C, H, W]`` as the snapshot grid; returns it, uint8 ``[H', W', C]``."""
        images = np.asarray(gen.convert_images_to_uint8(images, drange=drange, nchw_to_nhwc=True))
        gw, gh = self.grid
        grid = gen.assemble_grid([list(images[r * gw:(r + 1) * gw]) for r in range(gh)])
        gen.save_image(grid, os.path.join(self.run_dir, name))
        return grid

    def snapshot_fakes(self, name):
        """Gs on the grid latents at its current lod, written as ``name`` (and to TensorBoard).
        Gs runs at the current resolution (one trace per resolution); the images are then
        nearest-upscaled to full size, which is what the official full-resolution graph gives."""
        lod = float(self.Gs.lod.numpy())
        res_log2 = self.dataset.resolution_log2 - math.floor(lod)
        if res_log2 not in self._fakes_fns:
            self._fakes_fns[res_log2] = tf.function(lambda z, c, lod: self.Gs(
                z, c, lod=lod, resolution=2 ** res_log2, is_validation=True, rng=self.step.rng))
        fn, factor = self._fakes_fns[res_log2], 2 ** (self.dataset.resolution_log2 - res_log2)
        batches = [fn(tf.constant(self.grid_latents[i:i + 64], tf.float32), tf.constant(self.grid_labels[i:i + 64]),
                      tf.constant(lod)).numpy() for i in range(0, len(self.grid_latents), 64)]
        images = np.concatenate(batches).repeat(factor, axis=2).repeat(factor, axis=3)
        if self.is_chief:
            grid = self._save_grid(images, name)
            with self.writer.as_default():
                tf.summary.image("fakes", grid[None], step=self.progress.cur_nimg.numpy() // 1000)

    def save_networks(self, name, every_worker=False):
        """Write the network snapshot ``name`` and evaluate the run's metrics on it (chief only)."""
        if self.is_chief or every_worker:
            stylegan_tf.save_network_pkl((self.G, self.D, self.Gs), os.path.join(self.run_dir, name))
        if self.is_chief and self.options.metrics:
            from metrics.run_metrics import evaluate
            evaluate(self.options.metrics, self.Gs, self.dataset, run_dir=self.run_dir,
                     snapshot_name=os.path.splitext(name)[0], summary_writer=self.writer,
                     step=int(self.progress.cur_nimg.numpy()) // 1000)

    # -- the loop -----------------------------------------------------------------
    def schedule(self):
        o = self.options
        return training_schedule(int(self.progress.cur_nimg.numpy()), self.dataset.resolution_log2,
                                 num_gpus=self.strategy.num_replicas_in_sync, **o.sched_args)

    def _read_stats(self, pending):
        """``(sums, count)`` of the finite iterations' stats since the last tick (``sum_stats``).
        A non-finite loss stops the run (nothing has been saved since it). Under mixed precision it
        marks a step that overflowed float16 and was skipped while the loss scale halved (official
        dynamic loss scaling); there the run stops only once a loss scale has fallen below 1."""
        o = self.options
        try:
            sums, count = sum_stats(pending, skip_nonfinite=o.mixed_precision)
        except NonFiniteLoss as bad:
            raise TrainingError(f"the losses became non-finite at kimg {bad.nimg / 1000:.1f} ({bad.stats_text}); "
                                f"stopped without saving. {self._advice()}") from None
        if o.mixed_precision:
            scale = min(float(s.scale.numpy()) for s in (self.step.G_loss_scale, self.step.D_loss_scale))
            if scale < 1:
                raise TrainingError(f"the float16 networks overflow even with a loss scale of {scale:g} "
                                    f"(kimg {pending[-1][0] / 1000:.1f}); stopped without saving. {self._advice()}")
        return sums, count

    def _advice(self):
        return (f"The last good checkpoint is {self.manager.latest_checkpoint or 'none'}. "
                f"Try lower learning rates (--lrate), or --nomixed_precision.")

    def run(self):
        """Train to ``total_kimg``; returns the final kimg."""
        o, p = self.options, self.progress
        total_nimg = int(o.total_kimg * 1000)
        self.setup_grid()
        if int(p.cur_nimg.numpy()) == int(o.resume_kimg * 1000):
            self.snapshot_fakes("fakes_init.png")
        start_time = tick_start_time = time.time()
        maintenance_time = 0.0
        # (images shown after an iteration, its stats as tensors): read back once per tick, not once per
        # iteration, so the host queues the next iterations while an accelerator works
        pending = []
        self.log(f"Training for {o.total_kimg} kimg on {self.strategy.num_replicas_in_sync} replica(s)...")
        while True:
            sched = self.schedule()
            cur_nimg = int(p.cur_nimg.numpy())
            prev_lod = float(p.prev_lod.numpy())  # -1 at the start: the first group resets, as official
            if o.reset_opt_for_new_lod and (math.floor(sched.lod) != math.floor(prev_lod)
                                            or math.ceil(sched.lod) != math.ceil(prev_lod)):
                reset_optimizer(self.G_opt)
                reset_optimizer(self.D_opt)
            p.prev_lod.assign(sched.lod)
            fn = self.step.iteration_function(sched.resolution, sched.minibatch)
            iterator = self._iterator(sched.lod, sched.minibatch)
            lod = tf.constant(sched.lod, tf.float32)
            args = (lod, tf.constant(sched.G_lrate, tf.float32), tf.constant(sched.D_lrate, tf.float32),
                    tf.constant(gs_beta(sched.minibatch, o.G_smoothing_kimg)))
            for _ in range(o.minibatch_repeats):
                reals, labels = zip(*(next(iterator) for _ in range(o.D_repeats)))
                cur_nimg += sched.minibatch * o.D_repeats
                pending.append((cur_nimg, fn(reals, labels, *args)))
                p.cur_nimg.assign(cur_nimg)
            done = cur_nimg >= total_nimg
            if not (done or cur_nimg >= int(p.tick_start_nimg.numpy()) + sched.tick_kimg * 1000):
                continue
            sums, count = self._read_stats(pending)
            pending = []
            tick_time = time.time() - tick_start_time
            tick_kimg = (cur_nimg - int(p.tick_start_nimg.numpy())) / 1000.0
            cur_tick = int(p.cur_tick.numpy()) + 1
            p.cur_tick.assign(cur_tick)
            p.tick_start_nimg.assign(cur_nimg)
            scalars = {"Progress/tick": cur_tick, "Progress/kimg": cur_nimg / 1000.0, "Progress/lod": sched.lod,
                       "Progress/minibatch": sched.minibatch, "Timing/total_sec": time.time() - start_time,
                       "Timing/sec_per_tick": tick_time, "Timing/sec_per_kimg": tick_time / max(tick_kimg, 1e-9),
                       "Timing/maintenance_sec": maintenance_time, "Resources/peak_mem_gb": peak_memory_gb(),
                       "TrainG/learning_rate": sched.G_lrate, "TrainD/learning_rate": sched.D_lrate,
                       **{k: v / count for k, v in sums.items()}}
            if o.mixed_precision:
                scalars["TrainG/loss_scale"] = float(self.step.G_loss_scale.scale.numpy())
                scalars["TrainD/loss_scale"] = float(self.step.D_loss_scale.scale.numpy())
            self.log(f"tick {cur_tick:<5d} kimg {cur_nimg / 1000:<8.1f} lod {sched.lod:<5.2f} "
                     f"minibatch {sched.minibatch:<4d} time {format_time(scalars['Timing/total_sec']):<12s} "
                     f"sec/tick {tick_time:<7.1f} sec/kimg {scalars['Timing/sec_per_kimg']:<7.2f} "
                     f"maintenance {maintenance_time:<6.1f} mem {peak_memory_gb():<4.1f}")
            maintenance_start = time.time()
            if self.is_chief:
                with self.writer.as_default():
                    for k, v in scalars.items():
                        tf.summary.scalar(k, v, step=cur_nimg // 1000)
                self.writer.flush()
            if o.image_snapshot_ticks and (cur_tick % o.image_snapshot_ticks == 0 or done):
                self.snapshot_fakes(f"fakes{cur_nimg // 1000:06d}.png")
            if o.network_snapshot_ticks and (cur_tick % o.network_snapshot_ticks == 0 or done):
                self.save_networks(f"network-snapshot-{cur_nimg // 1000:06d}.pkl")
            if o.checkpoint_ticks and (cur_tick % o.checkpoint_ticks == 0 or done):
                self.manager.save(checkpoint_number=cur_nimg)
            maintenance_time = time.time() - maintenance_start
            tick_start_time = time.time()
            if done:
                break
        self.save_networks("network-final.pkl", every_worker=True)
        self.log(f"Done: {cur_nimg / 1000:.1f} kimg in {format_time(time.time() - start_time)}.")
        return cur_nimg / 1000.0


class NonFiniteLoss(ValueError):
    """An iteration whose stats are not all finite: ``nimg`` (images shown after it) and its stats."""

    def __init__(self, nimg, stats):
        self.nimg, self.stats = nimg, stats
        self.stats_text = ", ".join(f"{k} {v:.4g}" for k, v in stats.items())
        super().__init__(f"non-finite stats at {nimg} images: {self.stats_text}")


def sum_stats(pending, skip_nonfinite=False):
    """``(sums, count)``: per-stat sums over the iterations ``pending`` (``[(nimg, {name: scalar
    tensor})]``) whose stats are all finite, and how many those are. The first iteration with a
    non-finite stat raises ``NonFiniteLoss`` unless ``skip_nonfinite`` (then it is left out)."""
    sums, count = {}, 0
    for nimg, tensors in pending:
        stats = {k: float(v) for k, v in tensors.items()}
        if not all(math.isfinite(v) for v in stats.values()):
            if skip_nonfinite:
                continue
            raise NonFiniteLoss(nimg, stats)
        for k, v in stats.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
    return sums, count


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0
                                                     and "chief" not in resolver.cluster_spec().as_dict())


def save_options(options, run_dir):
    """Write ``training_options.json``."""
    with open(os.path.join(run_dir, "training_options.json"), "w") as f:
        json.dump(options, f, indent=2, sort_keys=True)


def load_options(run_dir):
    """Read a run's ``training_options.json`` (EasyDicts, resolution keys back to ints)."""
    path = os.path.join(run_dir, "training_options.json")
    if not os.path.isfile(path):
        raise TrainingError(f"{run_dir} is not a run directory (no training_options.json)")

    def restore(value):
        if isinstance(value, dict):
            if value and all(k.isdigit() for k in value):
                return {int(k): restore(v) for k, v in value.items()}
            return EasyDict({k: restore(v) for k, v in value.items()})
        return value

    with open(path) as f:
        return restore(json.load(f))
