"""A minimal progress bar for long command-line work (no third-party dependency).

On a terminal it redraws one line in place; elsewhere (CI logs, pipes) it prints a line at most every
`log_interval` seconds, so logs stay short.
"""
import sys
import time


def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts `update()` calls towards `total` and reports rate and remaining time.

    Use as a context manager; the final line is printed on exit.
    """

    def __init__(self, total, desc, unit="img", stream=None, log_interval=10.0, width=30):
        self.total = max(int(total), 0)
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0
        self._width = width
        self._tty = getattr(self.stream, "isatty", lambda: False)()
        self._interval = 0.1 if self._tty else log_interval
        self._start = time.monotonic()
        self._last = self._start

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def rate(self):
        """Items per second since the start."""
        return self.count / max(time.monotonic() - self._start, 1e-9)

    def update(self, n=1):
        self.count += n
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._draw(final=False)

    def close(self):
        self._draw(final=True)

    def _draw(self, final):
        fraction = self.count / self.total if self.total else 1.0
        filled = int(self._width * min(fraction, 1.0))
        bar = "#" * filled + "-" * (self._width - filled)
        rate = self.rate
        if final:
            tail = f"in {_format_seconds(time.monotonic() - self._start)}"
        else:
            remaining = (self.total - self.count) / rate if rate > 0 else 0.0
            tail = f"ETA {_format_seconds(remaining)}"
        line = (f"{self.desc} [{bar}] {self.count}/{self.total} ({fraction:.0%}) "
                f"{rate:.0f} {self.unit}/s {tail}")
        if self._tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
