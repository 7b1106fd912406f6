"""Run directories (``results/00000-<desc>``), the run log and resource figures."""
import os
import re
import resource

import tensorflow as tf


def create_run_dir(outdir, desc):
    """Create ``outdir/<NNNNN>-<desc>`` with the next free number (official numbering)."""
    os.makedirs(outdir, exist_ok=True)
    ids = [int(m.group(1)) for m in (re.match(r"^(\d+)-", name) for name in os.listdir(outdir)) if m]
    run_dir = os.path.join(outdir, f"{max(ids, default=-1) + 1:05d}-{desc}")
    os.makedirs(run_dir)
    return run_dir


def peak_memory_gb():
    """Peak memory: of the first GPU when there is one, else this process's peak RSS."""
    if tf.config.list_logical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


class RunLog:
    """Prints a line and appends it to ``<run_dir>/log.txt`` (no file when ``run_dir`` is None)."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, "log.txt") if run_dir else None

    def __call__(self, message):
        print(message, flush=True)
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(message + "\n")
