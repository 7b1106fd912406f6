"""Starting and resuming runs: the `tf.distribute` strategy, the checks made before anything is written, this
process's run directory (a new one, the resumed one, or a worker's own), the lock on it, and what a failure leaves.

- `start(options, outdir)` trains a new run in `outdir/<NNNNN>-<config>-<N>replica`; `resume(run_dir)` continues
  one from its newest intact checkpoint (`training.resume`). Both return the run directory.
- While a process trains in a run directory it holds its lock (`stylegan_tf.run_dir.RunLock`): a second process
  is refused with one line.
- A new run directory that holds no checkpoint beyond the start when the run fails (a damaged dataset, Ctrl-C
  before training began, ...) is removed: a run directory is always one that can be resumed.
- With `TF_CONFIG` set, every process is one worker of a `MultiWorkerMirroredStrategy`; worker 0 writes the run
  directory, the others their checkpoints in `<outdir>/.worker<index>`. If a worker stops responding, the others
  stop with a `TrainingError` naming it.
"""
import os
import re
import shutil

import tensorflow as tf

from stylegan_tf import run_dir as run_files
from stylegan_tf.errors import InputError
from training import options as options_lib
from training.dataset import load_dataset
from training.errors import TrainingError, TrainingInterrupted
from training.resume import resume_point
from training.schedule import minibatches
from training.training_loop import TrainingLoop, check_options, is_chief, is_multi_worker

#: what TensorFlow raises in the surviving workers when another one stops responding
_WORKER_LOST = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                tf.errors.AbortedError)


def make_strategy(gpus=None):
    """MultiWorkerMirrored with `TF_CONFIG`; Mirrored over `gpus` GPUs (None: all visible) if several; else one
    device. `InputError` if more GPUs are asked for than are visible."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    visible = tf.config.list_logical_devices("GPU")
    gpus = len(visible) if gpus is None else gpus
    if gpus > len(visible):
        raise InputError(f"gpus={gpus}, but {len(visible)} GPU(s) are visible")
    if gpus <= 1:
        return tf.distribute.OneDeviceStrategy(visible[0].name) if gpus == 1 else tf.distribute.get_strategy()
    return tf.distribute.MirroredStrategy([d.name for d in visible[:gpus]])


def check_start(options, replicas):
    """Open the dataset of `options` and check the schedule against it and the `replicas`, before anything is
    written. Raises `DatasetError` / `InputError`; returns warnings (lines)."""
    check_options(options)
    dataset = load_dataset(options.data, **options.dataset_args)
    try:
        wanted = minibatches(options.sched_args, dataset.resolution_log2)
        for resolution, minibatch in wanted.items():
            if minibatch < 1 or minibatch % replicas:
                raise InputError(f"the minibatch at {resolution}x{resolution} ({minibatch}) must be a positive "
                                 f"multiple of the {replicas} replicas")
        largest = max(wanted.values())
        if dataset.num_images is not None and dataset.num_images < largest:
            return [f"the dataset {options.data} has {dataset.num_images} images, fewer than the minibatch of "
                    f"{largest}: every minibatch shows some images more than once"]
        return []
    finally:
        dataset.close()


def start(options, outdir, gpus=None):
    """Train a new run of `options` in a new run directory under `outdir`; returns its path."""
    strategy = make_strategy(gpus)
    warnings = check_start(options, strategy.num_replicas_in_sync)
    if not is_chief(strategy):
        worker_dir = run_files.worker_dir(outdir, strategy.cluster_resolver.task_id)
        os.makedirs(worker_dir, exist_ok=True)
        _train(options, worker_dir, strategy, None, run_files.RunLog(None), resume_dir=None)
        return worker_dir
    try:
        run_dir = run_files.create(outdir, f"{options.config or 'custom'}-{strategy.num_replicas_in_sync}replica")
    except OSError as error:
        raise InputError(f"outdir {outdir} is not writable ({error.strerror})") from None
    with run_files.RunLock(run_dir):
        try:
            options_lib.save(options, run_dir)
            log = run_files.RunLog(run_dir)
            log(f"Run directory: {run_dir}")
            for warning in warnings:
                log(f"warning: {warning}")
            _train(options, run_dir, strategy, None, log, resume_dir=run_dir)
        except BaseException as error:
            if _trained(run_dir, int(options.resume_kimg * 1000)):
                raise
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing to resume: no directory left behind
            if isinstance(error, KeyboardInterrupt):
                raise TrainingInterrupted(f"stopped before training began; {run_dir} was removed") from None
            if isinstance(error, TrainingError):
                error.resume_dir = None
            raise
    return run_dir


def _trained(run_dir, start_nimg):
    """Whether `run_dir` holds a checkpoint written after `start_nimg` images."""
    return any(run_files.checkpoint_nimg(prefix) > start_nimg for prefix in run_files.checkpoint_prefixes(run_dir))


def resume(run_dir, total_kimg=None, gpus=None):
    """Continue run directory `run_dir` from its newest intact checkpoint, to `total_kimg` if given (then recorded
    in its options); returns `run_dir`. A run that already reached its total_kimg is left as it is (said so)."""
    options_lib.load(run_dir)  # not a run directory, damaged options: one line before anything starts
    strategy = make_strategy(gpus)
    if not is_chief(strategy):
        point = resume_point(run_dir, total_kimg)
        if not point.finished:
            check_start(point.options, strategy.num_replicas_in_sync)
            worker_dir = run_files.worker_dir(os.path.dirname(os.path.abspath(run_dir)),
                                              strategy.cluster_resolver.task_id)
            os.makedirs(worker_dir, exist_ok=True)
            _train(point.options, worker_dir, strategy, point, run_files.RunLog(None), resume_dir=run_dir)
        return run_dir
    with run_files.RunLock(run_dir):
        point = resume_point(run_dir, total_kimg)
        log = run_files.RunLog(run_dir)
        if point.finished:
            for line in point.describe():
                log(line)
            return run_dir
        for warning in check_start(point.options, strategy.num_replicas_in_sync):
            log(f"warning: {warning}")
        if total_kimg is not None:
            options_lib.save(point.options, run_dir)
        _train(point.options, run_dir, strategy, point, log, resume_dir=run_dir)
    return run_dir


def _train(options, run_dir, strategy, point, log, resume_dir):
    """Build the loop in `run_dir`, restore `point` (or start fresh) and train. In a multi-worker run, another
    worker that stops responding is a `TrainingError` naming it; `resume_dir`: the run directory to resume then."""
    try:
        loop = TrainingLoop(options, run_dir, strategy, log)
        loop.restore(point)
        loop.run()
    except _WORKER_LOST as error:
        if not is_multi_worker(strategy):
            raise
        where = "" if resume_dir else " with --resume=<the run directory worker 0 created>"
        raise TrainingError(f"{_lost_worker(error, strategy)} stopped responding, so this worker stopped too; "
                            f"restart every worker (same TF_CONFIG) from the newest checkpoint{where}",
                            resume_dir=resume_dir) from None


def _lost_worker(error, strategy):
    """`worker <index> (<address>)` of the worker TensorFlow's `error` names, or `another worker`."""
    mine = strategy.cluster_resolver.task_id
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    named = {int(task) for job, task in re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", error.message)
             if job == "worker"} - {mine}
    if len(named) == 1:
        index = named.pop()
        workers = cluster.get("worker", [])
        address = f" ({workers[index]})" if index < len(workers) else ""
        return f"worker {index}{address}"
    return "another worker"
