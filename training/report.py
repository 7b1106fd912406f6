"""What a run reports at each tick: the official tick line with progress and ETA, and the TensorBoard scalars.

The tick line (console and `log.txt`) is the official one with the progress towards `total_kimg` and an estimate
of the time left:

    tick 5     kimg 20.5/40 (51%)   lod 1.00  minibatch 32   time 3m 01s       sec/tick 45.2    sec/kimg 11.03
    maintenance 0.2    mem 1.0  ETA 2m 52s

(one line). With discriminator augmentation the line also shows its probability `p` after `mem`
(`augment 0.152`, StyleGAN2-ADA's field). Runs shorter than 10 kimg show the kimg with three decimals. `time`
counts the whole run, across resumes; the ETA is the kimg left at this process's average speed so far
(maintenance included). The scalars carry the official TensorBoard names.
"""
import resource
import time

import tensorflow as tf

from stylegan_tf.progress import format_time


def peak_memory_gb():
    """Peak memory in GB: of the first GPU when there is one, else this process's peak RSS."""
    if tf.config.list_logical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


class TickReport:
    """Reports the ticks of one process's training towards `total_nimg` images.

    `start_nimg`: images shown when this process started training; `elapsed_sec`, `cpu_sec`: the run's training
    time and CPU time before (restored from the checkpoint); `log(line)`: the run log; `writer`: a TensorBoard
    summary writer, or None."""

    def __init__(self, total_nimg, start_nimg, elapsed_sec, log, writer=None, cpu_sec=0.0):
        self.total_nimg, self.start_nimg = total_nimg, start_nimg
        self.log, self.writer = log, writer
        self._elapsed_before, self._cpu_before = elapsed_sec, cpu_sec
        self._start = self._tick_start = self._maintenance_start = time.time()
        self._cpu_start = time.process_time()
        self._maintenance = 0.0

    def elapsed(self):
        """Seconds of training of the whole run, up to now."""
        return self._elapsed_before + time.time() - self._start

    def cpu(self):
        """CPU seconds (user + system, all threads) of the whole run's training, up to now."""
        return self._cpu_before + time.process_time() - self._cpu_start

    def eta(self, cur_nimg):
        """Seconds left to `total_nimg` at this process's average speed, or None before any progress."""
        done, spent = cur_nimg - self.start_nimg, time.time() - self._start
        if done <= 0 or spent <= 0:
            return None
        return max(self.total_nimg - cur_nimg, 0) * spent / done

    def tick(self, cur_tick, cur_nimg, tick_start_nimg, sched, stats):
        """Report the tick that ended at `cur_nimg` (it started at `tick_start_nimg`; `sched`: its
        `training.schedule.SchedulePoint`): the line, and the scalars with the tick's mean `stats` (`{name: value}`,
        e.g. `Loss/G`, `TrainG/loss_scale`; `Progress/augment`, the augmentation probability, is also shown on the
        line)."""
        tick_time = time.time() - self._tick_start
        sec_per_kimg = tick_time / max((cur_nimg - tick_start_nimg) / 1000, 1e-9)
        mem, elapsed, eta = peak_memory_gb(), self.elapsed(), self.eta(cur_nimg)
        digits = 1 if self.total_nimg >= 10_000 else 3  # official .1f, but short runs need the images
        progress = (f"{cur_nimg / 1000:.{digits}f}/{self.total_nimg / 1000:g} "
                    f"({min(cur_nimg / max(self.total_nimg, 1), 1):.0%})")
        eta_text = "-" if eta is None else format_time(eta)
        augment = f"augment {stats['Progress/augment']:<6.3f} " if "Progress/augment" in stats else ""
        self.log(f"tick {cur_tick:<5d} kimg {progress:<19s} lod {sched.lod:<5.2f} minibatch {sched.minibatch:<4d} "
                 f"time {format_time(elapsed):<12s} sec/tick {tick_time:<7.1f} sec/kimg {sec_per_kimg:<7.2f} "
                 f"maintenance {self._maintenance:<6.1f} mem {mem:<4.1f} {augment}ETA {eta_text}")
        if self.writer is not None:
            scalars = {"Progress/tick": cur_tick, "Progress/kimg": cur_nimg / 1000, "Progress/lod": sched.lod,
                       "Progress/minibatch": sched.minibatch, "Timing/total_sec": elapsed,
                       "Timing/sec_per_tick": tick_time, "Timing/sec_per_kimg": sec_per_kimg,
                       "Timing/maintenance_sec": self._maintenance, "Resources/peak_mem_gb": mem,
                       "TrainG/learning_rate": sched.G_lrate, "TrainD/learning_rate": sched.D_lrate, **stats}
            with self.writer.as_default():
                for name, value in scalars.items():
                    tf.summary.scalar(name, value, step=cur_nimg // 1000)
            self.writer.flush()
        self._maintenance_start = time.time()

    def maintenance_done(self):
        """Call after the tick's snapshots and checkpoint: their time is the next line's `maintenance`, and the next
        tick starts now."""
        self._tick_start = time.time()
        self._maintenance = self._tick_start - self._maintenance_start
