"""Progress of long work on the console: a counter with rate and ETA, and the official compact duration format.

On a terminal the line is redrawn in place about ten times a second; anywhere else (logs, CI, pipes) a plain line is
written at most every `log_interval` seconds and once at the end, without cursor or colour codes.
"""
import sys
import time


def format_time(seconds):
    """The official compact duration (`dnnlib.util.format_time`): `12s`, `3m 04s`, `2h 05m 09s`, `1d 02h 03m`."""
    s = int(round(max(seconds, 0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s // 60 % 60:02d}m {s % 60:02d}s"
    return f"{s // 86400}d {s // 3600 % 24:02d}h {s // 60 % 60:02d}m"


class Progress:
    """Counts work done towards `total` and reports it as `desc [#####-----] 40/100 (40%) 12.3 img/s ETA 5s`.

    `update(n)` adds `n` items; `set(done)` sets the count; `close()` (or leaving the `with` block) prints the final
    line `... in 8s`. `stream`: where to write (default stderr); `enabled=False` counts silently. `rate` and
    `elapsed` are available to the caller.
    """

    def __init__(self, total, desc, unit="img", stream=None, log_interval=10.0, width=30, enabled=True):
        self.total = max(int(total), 0)
        self.desc, self.unit = desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0
        self.enabled = enabled
        self._width = width
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._interval = 0.1 if self._tty else float(log_interval)
        self._start = self._last = time.monotonic()
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def elapsed(self):
        """Seconds since the start."""
        return time.monotonic() - self._start

    @property
    def rate(self):
        """Items per second since the start."""
        return self.count / max(self.elapsed, 1e-9)

    def update(self, n=1):
        self.set(self.count + n)

    def set(self, done):
        self.count = int(done)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._draw(final=False)

    def close(self):
        if not self._closed:
            self._closed = True
            self._draw(final=True)

    def line(self, final=False):
        """The text of the progress line."""
        fraction = self.count / self.total if self.total else 1.0
        filled = int(self._width * min(fraction, 1.0))
        bar = "#" * filled + "-" * (self._width - filled)
        rate = self.rate
        if final:
            tail = f"in {format_time(self.elapsed)}"
        else:
            tail = f"ETA {format_time((self.total - self.count) / rate)}" if rate > 0 else "ETA -"
        rate_text = f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"
        return f"{self.desc} [{bar}] {self.count}/{self.total} ({fraction:.0%}) {rate_text} {self.unit}/s {tail}"

    def _draw(self, final):
        if not self.enabled:
            return
        text = self.line(final)
        self.stream.write(("\r" + text + ("\n" if final else "")) if self._tty else text + "\n")
        self.stream.flush()
