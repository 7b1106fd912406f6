"""The official training loop (progressive growing) on TensorFlow 2.

Per group of `minibatch_repeats` minibatches: evaluate the schedule at `cur_nimg` (lod, resolution, minibatch,
learning rates), reset Adam when a new lod phase starts, then run official iterations (D step, Gs update, G step).
Each tick (`tick_kimg`) reports the tick line and TensorBoard scalars (`training.report`) and every
`image_snapshot_ticks` / `network_snapshot_ticks` / `checkpoint_ticks` writes an image grid and a network snapshot
(`training.snapshots`) and a checkpoint (the full state: G, D, Gs, both optimizers, RNG, progress, training time,
and with discriminator augmentation its `p` and the ADA heuristic's accumulator).

A new run writes a checkpoint before its first iteration, so it is resumable from the start. Ctrl-C stops after the
current group of minibatches: the progress since the last checkpoint is saved (unless the losses went non-finite)
and `TrainingInterrupted` names the run directory to resume; a second Ctrl-C stops at once.
"""
import math
import os
import signal
import threading

import keras
import tensorflow as tf

import stylegan_tf
from stylegan_tf import run_dir as run_files
from stylegan_tf.checkpoints import write_config
from stylegan_tf.errors import InputError
from stylegan_tf.official import NETWORKS
from stylegan_tf.progress import format_time
from training import loss as loss_lib
from training.ada import AdaptiveAugment
from training.augment import PIPELINES
from training.dataset import load_dataset
from training.errors import TrainingError, TrainingInterrupted
from training.precision import run_precision
from training.report import TickReport
from training.schedule import training_schedule
from training.snapshots import Snapshots
from training.train_step import TrainStep, gs_beta, reset_optimizer

CHECKPOINTS_KEPT = 2


class _Progress(tf.Module):
    """Counters checkpointed with the run."""
    #: the counters that checkpoints of earlier versions lack (they resume at 0)
    NEWER = ("elapsed_sec", "cpu_sec")

    def __init__(self):
        super().__init__()
        self.cur_nimg = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.cur_tick = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.tick_start_nimg = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.prev_lod = tf.Variable(-1.0, dtype=tf.float64, trainable=False)
        self.elapsed_sec = tf.Variable(0.0, dtype=tf.float64, trainable=False)  # training time of the whole run
        self.cpu_sec = tf.Variable(0.0, dtype=tf.float64, trainable=False)  # its CPU time (all threads)

    def without(self, names):
        """A module tracking the same variables but `names` (to restore a checkpoint that lacks them)."""
        view = tf.Module()
        for name in ("cur_nimg", "cur_tick", "tick_start_nimg", "prev_lod", *self.NEWER):
            if name not in names:
                setattr(view, name, getattr(self, name))
        return view


class StopRequest:
    """Ctrl-C as a request to stop: inside `with StopRequest(log) as stop`, the first SIGINT sets `stop.requested`
    (and logs that it will stop); a second one interrupts at once (`KeyboardInterrupt`). Outside the main thread
    (where signals cannot be handled) it changes nothing."""

    def __init__(self, log):
        self.log, self.requested, self._previous = log, False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.log("Ctrl-C: stopping after the current iteration and saving a checkpoint (Ctrl-C again: at once, "
                 "without saving)")

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class TrainingLoop:
    """Everything one run needs: dataset, networks, optimizers, step, checkpoints, snapshots, logs.

    `options`: a `training.options.TrainingOptions`. `run_dir`: where this process writes (a worker other than the
    chief of a multi-worker run gets a private directory: only the chief writes logs, grids and snapshots, but every
    worker must write its checkpoints). `strategy`: a `tf.distribute` strategy (default: the current one); `log`:
    where the console lines go (default: `stylegan_tf.run_dir.RunLog`).
    """

    def __init__(self, options, run_dir, strategy=None, log=None):
        self.options, self.run_dir = options, run_dir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.is_chief = is_chief(self.strategy)
        self.log = log or run_files.RunLog(run_dir if self.is_chief else None)
        o = options
        check_options(o)
        self.dataset = load_dataset(o.data, mirror_augment=False, **o.dataset_args)
        if o.metrics:
            from metrics.metric_defaults import check_metrics
            check_metrics(o.metrics, self.dataset)  # unknown names, missing weights: before any training
        shape = dict(num_channels=self.dataset.num_channels, resolution=self.dataset.resolution,
                     label_size=self.dataset.label_size)
        self.precision = run_precision(o.bfloat16, o.mixed_precision)
        with self.strategy.scope():
            keras.utils.set_random_seed(o.seed)
            G_cls, D_cls = NETWORKS[o.G_func], NETWORKS[o.D_func]  # noqa: N806
            self.G = G_cls(name="G", data_format=o.data_format, dtype=self.precision.train, **shape, **o.G_args)
            self.D = D_cls(name="D", data_format=o.data_format, dtype=self.precision.train, **shape, **o.D_args)
            self.Gs = G_cls(name="Gs", data_format=o.data_format, dtype=self.precision.Gs, **shape, **o.G_args)
            _copy_variables(self.G, self.Gs)
            self.augment = AdaptiveAugment.from_options(o.augment)
            self.G_opt = keras.optimizers.Adam(learning_rate=0.001, name="TrainG", **_adam(o.G_opt_args))
            self.D_opt = keras.optimizers.Adam(learning_rate=0.001, name="TrainD", **_adam(o.D_opt_args))
            self.step = TrainStep(
                self.G, self.D, self.Gs, self.G_opt, self.D_opt, loss_lib.G_LOSSES[o.G_loss],
                loss_lib.D_LOSSES[o.D_loss], self.strategy, G_loss_args=o.G_loss_args, D_loss_args=o.D_loss_args,
                random_labels=self._random_labels_fn(), mirror_augment=o.mirror_augment,
                style_mixing=o.style_mixing, xla=o.xla,
                loss_scaling=self.precision.loss_scaling, seed=o.seed, augment=self.augment)
            self.progress = _Progress()
            self._items = dict(G=self.G, D=self.D, Gs=self.Gs, G_opt=self.G_opt, D_opt=self.D_opt,
                               rng=self.step.rng, progress=self.progress)
            if o.mixed_precision:
                self._items.update(G_loss_scale=self.step.G_loss_scale.scale,
                                   D_loss_scale=self.step.D_loss_scale.scale)
            if self.augment is not None:
                self._items["augment"] = self.augment
            self.checkpoint = tf.train.Checkpoint(**self._items)
        self.manager = self._checkpoint_manager()
        self._saved_nimg = None  # images shown at the newest checkpoint this process wrote or restored
        # how to rebuild the networks, so that stylegan-generate / -convert read the checkpoints too
        write_config({"G": self.G, "D": self.D, "Gs": self.Gs}, self.manager.directory)
        self._iterators = {}
        self.writer = tf.summary.create_file_writer(run_dir) if self.is_chief else None
        self.snapshots = Snapshots(run_dir, self.dataset, self.Gs, self.step.rng, grid=o.grid_size, seed=o.seed,
                                   metrics=o.metrics, writer=self.writer, chief=self.is_chief)
        self._pending = []

    def _random_labels_fn(self):
        if not self.dataset.label_size:
            return None
        return lambda rng, n: self.dataset.get_random_labels_tf(n)

    # -- checkpoints --------------------------------------------------------------
    def _checkpoint_manager(self):
        return tf.train.CheckpointManager(self.checkpoint, run_files.checkpoint_dir(self.run_dir),
                                          max_to_keep=CHECKPOINTS_KEPT, checkpoint_name=run_files.CHECKPOINT_NAME)

    def save_checkpoint(self, report):
        """Write a checkpoint of the current state, with the run's training and CPU time so far (`report`'s)."""
        self.progress.elapsed_sec.assign(report.elapsed())
        self.progress.cpu_sec.assign(report.cpu())
        self._saved_nimg = int(self.progress.cur_nimg.numpy())
        self.manager.save(checkpoint_number=self._saved_nimg)

    def restore(self, point=None):
        """Continue from `point` (a `training.resume.ResumePoint`: its checkpoint); without one, start from
        `resume_pkl` if the options name one."""
        o = self.options
        if point is not None:
            for line in point.describe():
                self.log(line)
            self._restore_checkpoint(point.checkpoint)
            return
        if o.resume_pkl:
            G, D, Gs = stylegan_tf.load_network_pkl(o.resume_pkl, data_format=o.data_format)  # noqa: N806
            for src, dst in ((G, self.G), (D, self.D), (Gs, self.Gs)):
                _copy_variables(src, dst, checked_as=o.resume_pkl)
            nimg = int(o.resume_kimg * 1000)
            self.progress.cur_nimg.assign(nimg)
            self.progress.tick_start_nimg.assign(nimg)
            self.log(f"Starting from {o.resume_pkl} at kimg {o.resume_kimg:.1f}")

    def _restore_checkpoint(self, prefix):
        stored = {name for name, _ in tf.train.list_variables(prefix)}
        older = [n for n in _Progress.NEWER if f"progress/{n}/.ATTRIBUTES/VARIABLE_VALUE" not in stored]
        checkpoint = self.checkpoint
        if older:  # written by an earlier version
            checkpoint = tf.train.Checkpoint(**{**self._items, "progress": self.progress.without(older)})
        checkpoint.restore(prefix).assert_existing_objects_matched()
        self._saved_nimg = int(self.progress.cur_nimg.numpy())
        in_own_dir = os.path.dirname(os.path.abspath(prefix)) == os.path.abspath(self.manager.directory)
        if in_own_dir and self.manager.latest_checkpoint != prefix:
            # TensorFlow's state file names a damaged checkpoint, or is damaged itself: continue from this one
            tf.compat.v1.train.update_checkpoint_state(self.manager.directory, prefix, [prefix])
            self.manager = self._checkpoint_manager()

    def _iterator(self, lod, minibatch):
        level = math.floor(lod)
        key = (level, minibatch)
        if key not in self._iterators:
            ds = self.dataset.distribute(self.strategy, lod, minibatch, seed=self.options.seed + level)
            self._iterators[key] = iter(ds)
        return self._iterators[key]

    # -- the loop -----------------------------------------------------------------
    def schedule(self):
        """The schedule (`training.schedule.SchedulePoint`) at the current number of images shown."""
        return training_schedule(int(self.progress.cur_nimg.numpy()), self.dataset.resolution_log2,
                                 num_gpus=self.strategy.num_replicas_in_sync, sched=self.options.sched_args)

    def _read_stats(self, pending):
        """`(sums, count)` of the finite iterations' stats since the last tick (`sum_stats`).
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
        """Train to `total_kimg`; returns the final kimg. Raises `TrainingInterrupted` on Ctrl-C (after saving)."""
        o, p = self.options, self.progress
        total_nimg = int(round(o.total_kimg * 1000))
        cur_nimg = int(p.cur_nimg.numpy())
        if cur_nimg >= total_nimg:
            self.log(f"Already at kimg {cur_nimg / 1000:g} of {o.total_kimg:g}: nothing to train (give a larger "
                     f"total_kimg to train on).")
            return cur_nimg / 1000
        report = TickReport(total_nimg, cur_nimg, float(p.elapsed_sec.numpy()), self.log, self.writer,
                            cpu_sec=float(p.cpu_sec.numpy()))
        self._pending = []
        with StopRequest(self.log) as stop:
            self.snapshots.write_reals(*self.dataset.get_minibatch_np(self.snapshots.latents.shape[0]))
            if cur_nimg == int(o.resume_kimg * 1000):
                self.snapshots.write_fakes(run_files.FAKES_INIT, step=cur_nimg // 1000)
            if self._saved_nimg is None:
                self.save_checkpoint(report)  # resumable from the start
            self.log(f"Training for {o.total_kimg:g} kimg on {self.strategy.num_replicas_in_sync} replica(s), "
                     f"{self.precision.why}...")
            with self.dataset.read_errors():
                while not stop.requested and not self._train_tick(report, total_nimg, stop):
                    pass
            if stop.requested:
                self._stop(report)
        cur_nimg = int(p.cur_nimg.numpy())
        self.snapshots.write_networks((self.G, self.D, self.Gs), run_files.NETWORK_FINAL, step=cur_nimg // 1000,
                                      every_worker=True, nimg=cur_nimg, elapsed_sec=report.elapsed(),
                                      cpu_sec=report.cpu())
        self.log(f"Done: {cur_nimg / 1000:g} kimg in {format_time(report.elapsed())}.")
        return cur_nimg / 1000

    def _train_tick(self, report, total_nimg, stop):
        """Train one tick (groups of `minibatch_repeats` minibatches until the tick's kimg), report it and write
        what is due; returns whether `total_nimg` is reached. Returns early (False) when `stop.requested`."""
        o, p = self.options, self.progress
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
            args = (tf.constant(sched.lod, tf.float32), tf.constant(sched.G_lrate, tf.float32),
                    tf.constant(sched.D_lrate, tf.float32),
                    tf.constant(gs_beta(sched.minibatch, o.G_smoothing_kimg, cur_nimg, o.G_smoothing_rampup)))
            for _ in range(o.minibatch_repeats):
                reals, labels = zip(*(next(iterator) for _ in range(o.D_repeats)))
                cur_nimg += sched.minibatch * o.D_repeats
                # (images shown after an iteration, its stats as tensors): read back once per tick, not once per
                # iteration, so the host queues the next iterations while an accelerator works
                self._pending.append((cur_nimg, fn(reals, labels, *args)))
                p.cur_nimg.assign(cur_nimg)
            if stop.requested:
                return False
            done = cur_nimg >= total_nimg
            tick_start_nimg = int(p.tick_start_nimg.numpy())
            if done or cur_nimg >= tick_start_nimg + sched.tick_kimg * 1000:
                break
        sums, count = self._read_stats(self._pending)
        self._pending = []
        cur_tick = int(p.cur_tick.numpy()) + 1
        p.cur_tick.assign(cur_tick)
        p.tick_start_nimg.assign(cur_nimg)
        stats = {k: v / count for k, v in sums.items()}
        if o.mixed_precision:
            stats["TrainG/loss_scale"] = float(self.step.G_loss_scale.scale.numpy())
            stats["TrainD/loss_scale"] = float(self.step.D_loss_scale.scale.numpy())
        if self.augment is not None:
            stats["Progress/augment"] = float(self.augment.p.numpy())
        report.tick(cur_tick, cur_nimg, tick_start_nimg, sched, stats)
        if o.image_snapshot_ticks and (cur_tick % o.image_snapshot_ticks == 0 or done):
            self.snapshots.write_fakes(run_files.fakes_name(cur_nimg), step=cur_nimg // 1000)
        if o.network_snapshot_ticks and (cur_tick % o.network_snapshot_ticks == 0 or done):
            self.snapshots.write_networks((self.G, self.D, self.Gs), run_files.snapshot_name(cur_nimg),
                                          step=cur_nimg // 1000, nimg=cur_nimg, elapsed_sec=report.elapsed(),
                                          cpu_sec=report.cpu())
        if (o.checkpoint_ticks and cur_tick % o.checkpoint_ticks == 0) or done:
            self.save_checkpoint(report)
        report.maintenance_done()
        return done

    def _stop(self, report):
        """After a stop request (Ctrl-C) between two groups of minibatches: save the progress since the last
        checkpoint (one process; its losses finite), then raise `TrainingInterrupted`."""
        nimg = int(self.progress.cur_nimg.numpy())
        if is_multi_worker(self.strategy):  # a save would wait for the other workers
            note = "a multi-worker run saves nothing on Ctrl-C"
        elif self._saved_nimg is not None and nimg > self._saved_nimg:
            self._read_stats(self._pending)  # non-finite: TrainingError, nothing saved
            self.save_checkpoint(report)
            note = "saved"
        else:
            note = "nothing new to save"
        latest = self.manager.latest_checkpoint
        if latest is None:
            raise TrainingInterrupted(f"stopped before the first checkpoint of {self.run_dir}: nothing to resume")
        resume_dir = self.run_dir if self.is_chief else None
        raise TrainingInterrupted(f"stopped at kimg {nimg / 1000:g} ({note}); the newest checkpoint is {latest}",
                                  resume_dir=resume_dir)


def check_options(options):
    """`InputError` for options that name no dataset, an unknown network or loss, or what the loop cannot do."""
    o = options
    if o.data is None:
        raise InputError("option data is not set: give the dataset directory")
    for name, value, known in (("G_func", o.G_func, NETWORKS), ("D_func", o.D_func, NETWORKS),
                               ("G_loss", o.G_loss, loss_lib.G_LOSSES), ("D_loss", o.D_loss, loss_lib.D_LOSSES)):
        if value not in known:
            raise InputError(f"option {name} is {value!r}, which is not one of {', '.join(sorted(known))}")
    if o.G_smoothing_kimg < 0 or (o.G_smoothing_rampup is not None and o.G_smoothing_rampup <= 0):
        raise InputError(f"Gs's moving average needs G_smoothing_kimg >= 0 and G_smoothing_rampup > 0 or none, got "
                         f"{o.G_smoothing_kimg:g} and {o.G_smoothing_rampup}")
    check_augment(o.augment)
    run_precision(o.bfloat16, o.mixed_precision)


def check_augment(augment):
    """`InputError` for `training.options.Augment` settings out of range (an unknown pipeline, `p` or `target`
    outside [0, 1], `interval` < 1, `speed_kimg` <= 0)."""
    a = augment
    if a.pipeline is not None and a.pipeline not in PIPELINES:
        raise InputError(f"option augment.pipeline is {a.pipeline!r}, which is not one of {', '.join(PIPELINES)}")
    for name, value in (("p", a.p), ("target", a.target)):
        if value is not None and not 0 <= value <= 1:
            raise InputError(f"option augment.{name} is {value:g}, outside [0, 1]")
    if a.interval < 1 or a.speed_kimg <= 0:
        raise InputError(f"option augment.interval must be >= 1 and augment.speed_kimg > 0 (they are {a.interval} "
                         f"and {a.speed_kimg:g})")


def _adam(settings):
    """Keras Adam keyword arguments of a `training.options.Adam`."""
    return dict(beta_1=settings.beta1, beta_2=settings.beta2, epsilon=settings.epsilon)


def _copy_variables(src, dst, checked_as=None):
    """Copy every official variable of `src` into `dst`. `checked_as`: the file `src` came from; then a variable
    `dst` has and `src` lacks (or of another shape) raises TrainingError naming it."""
    theirs = dict(src.all_official_variables())
    for name, var in dst.all_official_variables():
        if checked_as and (name not in theirs or tuple(theirs[name].shape) != tuple(var.shape)):
            raise TrainingError(f"{checked_as}: network '{src.name}' does not fit this run's {dst.name} "
                                f"(variable {name}); check the dataset resolution, channels and --config")
        var.assign(theirs[name])


class NonFiniteLoss(ValueError):
    """An iteration whose stats are not all finite: `nimg` (images shown after it) and its stats."""

    def __init__(self, nimg, stats):
        self.nimg, self.stats = nimg, stats
        self.stats_text = ", ".join(f"{k} {v:.4g}" for k, v in stats.items())
        super().__init__(f"non-finite stats at {nimg} images: {self.stats_text}")


def sum_stats(pending, skip_nonfinite=False):
    """`(sums, count)`: per-stat sums over the iterations `pending` (`[(nimg, {name: scalar tensor})]`) whose stats
    are all finite, and how many those are. The first iteration with a non-finite stat raises `NonFiniteLoss` unless
    `skip_nonfinite` (then it is left out)."""
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


def is_multi_worker(strategy):
    """Whether `strategy` spans several processes (a `TF_CONFIG` cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and bool(resolver.cluster_spec().as_dict())


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0
                                                     and "chief" not in resolver.cluster_spec().as_dict())
