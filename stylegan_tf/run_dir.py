"""A training run directory (`results/00000-<desc>/`): the name of every file in it, creating one, locking it while
a process trains in it, and finding the newest network it holds.

| name | what |
| --- | --- |
| `log.txt` | the console output of the run |
| `training_options.json` | every option of the run (`training.options.TrainingOptions`) |
| `reals.png`, `fakes_init.png`, `fakes<kimg>.png` | image grids: real images, Gs before training, Gs at a tick |
| `network-snapshot-<kimg>.pkl`, `network-final.pkl` | (G, D, Gs) in the official pickle format |
| `snapshots.jsonl` | one line per network snapshot: file, kimg, the run's training and CPU time (resumes included) |
| `metric-<name>.txt`, `metric-<name>.jsonl` | metric results (official lines, JSON records) |
| `checkpoints/` | training checkpoints `ckpt-<nimg>.*` and `networks.json` (`stylegan_tf.checkpoints`) |
| `events.out.tfevents.*` | TensorBoard |
| `.lock` | held (`flock`) by the process training in the directory |

The workers of a multi-worker run other than worker 0 keep their checkpoints in `<outdir>/.worker<index>/`.

`<kimg>` is the number of thousands of real images shown, on six digits (`000120`), as official; a snapshot taken
between two whole kimg gets the remaining images as a suffix (`000000.128`: 128 images), so short ticks never
overwrite each other.
"""
import contextlib
import fcntl
import json
import os
import re

from stylegan_tf import checkpoints
from stylegan_tf.errors import InputError

LOG = "log.txt"
OPTIONS = "training_options.json"
REALS = "reals.png"
FAKES_INIT = "fakes_init.png"
NETWORK_FINAL = "network-final.pkl"
SNAPSHOT_LOG = "snapshots.jsonl"
CHECKPOINTS = "checkpoints"
CHECKPOINT_NAME = "ckpt"
LOCK = ".lock"
_KIMG = r"(\d{6,})(?:\.(\d{3}))?"
_SNAPSHOT = re.compile(rf"network-snapshot-{_KIMG}\.pkl")
_CHECKPOINT_INDEX = re.compile(rf"{CHECKPOINT_NAME}-(\d+)\.index")
_RUN_ID = re.compile(r"^(\d+)-")


def kimg_tag(nimg):
    """`<kimg>` of a file name for `nimg` images shown: `000120`, or `000000.128` between two whole kimg."""
    nimg = int(nimg)
    return f"{nimg // 1000:06d}" if nimg % 1000 == 0 else f"{nimg // 1000:06d}.{nimg % 1000:03d}"


def snapshot_name(nimg):
    """`network-snapshot-<kimg>.pkl`."""
    return f"network-snapshot-{kimg_tag(nimg)}.pkl"


def fakes_name(nimg):
    """`fakes<kimg>.png`."""
    return f"fakes{kimg_tag(nimg)}.png"


def metric_names(metric):
    """`(metric-<name>.txt, metric-<name>.jsonl)`."""
    return f"metric-{metric}.txt", f"metric-{metric}.jsonl"


def snapshot_nimg(name):
    """Images shown when the snapshot file `name` was written, or None if `name` is not a snapshot."""
    match = _SNAPSHOT.fullmatch(os.path.basename(name))
    if match is None:
        return None
    return int(match.group(1)) * 1000 + int(match.group(2) or 0)


def log_snapshot(run_dir, name, nimg, elapsed_sec, cpu_sec):
    """Append the network snapshot `name` to `snapshots.jsonl`: `{"snapshot", "kimg", "wall_sec", "cpu_sec"}`, the
    run's training time and CPU time (user + system, all threads) so far, resumes included (None: unknown)."""
    record = {"snapshot": name, "kimg": nimg / 1000,
              "wall_sec": None if elapsed_sec is None else round(elapsed_sec, 3),
              "cpu_sec": None if cpu_sec is None else round(cpu_sec, 3)}
    with open(os.path.join(run_dir, SNAPSHOT_LOG), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_snapshot_log(run_dir):
    """The records of `snapshots.jsonl` (see `log_snapshot`), oldest first; [] if there is none. A line cut short by
    a killed process is skipped."""
    path = os.path.join(run_dir, SNAPSHOT_LOG)
    if not os.path.isfile(path):
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    return records


def checkpoint_dir(run_dir):
    """The checkpoint directory of a run directory."""
    return os.path.join(run_dir, CHECKPOINTS)


def checkpoint_prefixes(run_dir):
    """The prefixes (`<run_dir>/checkpoints/ckpt-<nimg>`) of the training checkpoints in `run_dir`, newest (most
    images shown) first, found from their files (not from TensorFlow's `checkpoint` state file)."""
    directory = checkpoint_dir(run_dir)
    if not os.path.isdir(directory):
        return []
    found = [(int(m.group(1)), m.group(0)[:-len(".index")])
             for m in (_CHECKPOINT_INDEX.fullmatch(name) for name in os.listdir(directory)) if m]
    return [os.path.join(directory, name) for _, name in sorted(found, reverse=True)]


def checkpoint_nimg(prefix):
    """Images shown when the training checkpoint `prefix` (`.../ckpt-<nimg>`) was written."""
    return int(os.path.basename(prefix)[len(CHECKPOINT_NAME) + 1:])


def worker_dir(outdir, task_id):
    """`<outdir>/.worker<task_id>`: where a worker other than worker 0 of a multi-worker run keeps its
    checkpoints."""
    return os.path.join(outdir, f".worker{task_id}")


def is_run_dir(path):
    """Whether `path` looks like a training run directory (it has the options file)."""
    return os.path.isfile(os.path.join(path, OPTIONS))


def create(outdir, desc):
    """Create `outdir/<NNNNN>-<desc>` with the next free number (official numbering); returns its path."""
    os.makedirs(outdir, exist_ok=True)
    ids = [int(m.group(1)) for m in (_RUN_ID.match(name) for name in os.listdir(outdir)) if m]
    path = os.path.join(outdir, f"{max(ids, default=-1) + 1:05d}-{desc}")
    os.makedirs(path)
    return path


def newest_network(run_dir):
    """The newest network `run_dir` holds: its highest-kimg snapshot, `network-final.pkl` or the newest checkpoint of
    `checkpoints/`, whichever was written last. Returns a `.pkl` path or a checkpoint prefix; `InputError` if none."""
    candidates = []
    snapshots = [(nimg, name) for name in os.listdir(run_dir) if (nimg := snapshot_nimg(name)) is not None]
    if snapshots:
        candidates.append(os.path.join(run_dir, max(snapshots)[1]))
    if os.path.isfile(os.path.join(run_dir, NETWORK_FINAL)):
        candidates.append(os.path.join(run_dir, NETWORK_FINAL))
    ckpt_dir = checkpoint_dir(run_dir)
    if checkpoints.is_checkpoint_dir(ckpt_dir):
        with contextlib.suppress(ValueError):  # networks.json written, no checkpoint yet
            candidates.append(checkpoints.checkpoint_prefix(ckpt_dir))
    if not candidates:
        raise InputError(f"{run_dir}: the directory contains no network-snapshot-<kimg>.pkl, {NETWORK_FINAL} or "
                         f"{CHECKPOINTS}/ with {checkpoints.CONFIG_FILE}")
    return max(candidates, key=lambda p: os.path.getmtime(p if p.endswith(".pkl") else p + ".index"))


class RunLog:
    """The console output of a run: `log(message)` prints the line and appends it to `<run_dir>/log.txt` (only
    prints when `run_dir` is None)."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, LOG) if run_dir else None

    def __call__(self, message):
        print(message, flush=True)
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(message + "\n")


class RunLock:
    """An exclusive lock on a run directory (`flock` of its `.lock` file), held while a process trains in it.

    `acquire()` raises `InputError` naming the process that holds it; the lock disappears with the process, so a
    killed run never leaves a stale lock. Usable as a context manager."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, LOCK)
        self._fd = None

    def acquire(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise InputError(f"{os.path.dirname(self.path)} is in use: process {holder} is training in it; wait for "
                             f"it to finish or stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
