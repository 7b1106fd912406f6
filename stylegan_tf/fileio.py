"""Files and directories that appear complete or not at all: written under a temporary name beside the target and
renamed into place, with the permissions an ordinary `open()` / `mkdir()` would give them (the user's umask).

- `atomic_write(path)`: a file (network snapshots, options, cached downloads, images).
- `AtomicDirectory(path)`: a directory (datasets, SavedModels, extracted images). It refuses to replace what it was
  not told it may replace, never replaces a directory holding a protected path (e.g. the source of a dataset), cleans
  up after every failure, and removes the leftovers of writers that were killed (`kill -9`) before they finished.
- `printable(name)`: a file name made safe to show on one console line (escaped control characters).
"""
import contextlib
import os
import re
import shutil
import tempfile

from stylegan_tf.errors import InputError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _chmod_default(path, directory=False):
    """Give `path` the mode a plain `open`/`mkdir` would (mkstemp/mkdtemp make them private)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None):
    """Open a temporary file beside `path` for writing (`mode` 'wb' or 'w'); when the block ends without error it
    replaces `path` in one rename, otherwise it is deleted and `path` is left as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-", dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
        _chmod_default(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_bytes(path, data):
    """Write `data` to `path` atomically (see `atomic_write`)."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path, text):
    """Write `text` (UTF-8) to `path` atomically (see `atomic_write`)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def printable(text):
    """`text` (a file name, a message) with each character that is not printable (newline, tab, terminal escape
    codes, bidirectional overrides, ...) written as its Python escape (`\\n`, `\\x1b`, `\\u202e`), and each byte of a
    file name that was not valid UTF-8 as `\\xNN`: it cannot break or rewrite the console line it is shown on."""
    return "".join(char if char.isprintable() else _escape(char) for char in str(text))


def _escape(char):
    if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte os.listdir could not decode (surrogateescape)
        return f"\\x{ord(char) - 0xDC00:02x}"
    return ascii(char)[1:-1]


def check_directory_path(path, what="directory"):
    """`InputError` unless `path` is a directory or can be made one: it, or the nearest of its parents that exists,
    must be a directory (not a file, which `os.makedirs` would report as "File exists")."""
    path = os.fspath(path)
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        where = "" if existing == os.path.abspath(path) else f": {printable(existing)}"
        raise InputError(f"{what} {printable(path)}{where} is a file, not a directory")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_inside(path, directory):
    """True when `path` is `directory` or lies below it (after resolving links)."""
    path, directory = os.path.realpath(path), os.path.realpath(directory)
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


class AtomicDirectory:
    """A directory that appears at `path` complete or not at all.

    `open()` creates a hidden temporary directory `.<name>.partial-<pid>-<random>` beside `path` (and any missing
    parents) and returns it; `commit()` renames it to `path`, replacing what was there; `discard()` deletes it and the
    parents it created. As a context manager it yields the temporary directory and commits on success, discards on
    any error (disk full, Ctrl-C).

    Replacing: an existing non-empty `path` is refused (`InputError`) unless `overwrite`; with `overwrite` it is
    replaced only if `is_replaceable(path)` says it is something this kind of writer made (e.g. a dataset with its
    marker file), and never if it is, or contains, one of the `protect`ed paths. All checks happen at construction,
    before any work. Leftover temporary directories of dead writers (same naming, pid not running) are removed by
    `open()`.
    """

    def __init__(self, path, overwrite=False, is_replaceable=None, protect=(), what="output directory"):
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self.temp = None
        self._created_parent = None
        shown = os.fspath(path)
        for protected in protect:
            if protected is not None and is_inside(protected, self.path):
                raise InputError(f"{shown} contains {os.fspath(protected)}, which is being read; write the {what} "
                                 f"somewhere else")
        if os.path.lexists(self.path) and not _is_empty_dir(self.path):
            if not overwrite:
                raise InputError(f"{shown} already exists; pass --overwrite to replace it (the old one is kept "
                                 f"until the new one is complete)")
            if not os.path.isdir(self.path) or os.path.islink(self.path):
                raise InputError(f"{shown} exists and is not a directory; refusing to replace it")
            if is_replaceable is not None and not is_replaceable(self.path):
                raise InputError(f"{shown} exists and is not a {what} written by this tool; refusing to replace it "
                                 f"(delete it yourself if you mean it, or choose another path)")

    def _partial_prefix(self):
        return f".{os.path.basename(self.path)}.partial-"

    def remove_stale(self):
        """Delete the temporary directories of writers of this `path` that died before finishing."""
        parent = os.path.dirname(self.path)
        pattern = re.compile(re.escape(self._partial_prefix()) + r"(\d+)-")
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                match = pattern.match(name)
                if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
                    shutil.rmtree(os.path.join(parent, name), ignore_errors=True)

    def open(self):
        parent = os.path.dirname(self.path)
        missing = parent
        while not os.path.exists(os.path.dirname(missing)):
            missing = os.path.dirname(missing)
        self._created_parent = missing if not os.path.exists(missing) else None
        os.makedirs(parent, exist_ok=True)
        self.remove_stale()
        self.temp = tempfile.mkdtemp(prefix=f"{self._partial_prefix()}{os.getpid()}-", dir=parent)
        _chmod_default(self.temp, directory=True)
        return self.temp

    def commit(self):
        if os.path.lexists(self.path):
            parent, name = os.path.split(self.path)
            trash = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.rename(self.path, os.path.join(trash, name))
            os.rename(self.temp, self.path)
            shutil.rmtree(trash)
        else:
            os.rename(self.temp, self.path)
        self.temp = None

    def discard(self):
        if self.temp:
            shutil.rmtree(self._created_parent or self.temp, ignore_errors=True)
            self.temp = None

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _is_empty_dir(path):
    return os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path)
