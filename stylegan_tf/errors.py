"""The errors a user can act on: one base class that the command-line layer turns into one `error:` line.

Libraries raise a subclass of `StyleGANError` when the cause is something the user gave or can fix (a bad flag value,
a damaged or foreign file, a dataset too small for a metric, a run that cannot go on); the message is one line that
names the problem. Anything else (a bug) is left to propagate with its traceback. The subclasses also derive from the
built-in exception a Python caller would expect (`ValueError`, `FileNotFoundError`, ...), so `except ValueError`
keeps working.

| class | where | raised for |
| --- | --- | --- |
| `InputError` | here | a value or file a caller passed is unusable (seeds, psi, paths, shapes) |
| `NetworkPickleError` | `stylegan_tf.official` | a network pickle or checkpoint that cannot be loaded |
| `DatasetError` | `training.dataset` | a dataset or the source of one is missing, malformed or inconsistent |
| `TrainingError` | `training.errors` | training cannot go on (non-finite losses, a locked run directory ...) |
| `MetricError`, `WeightsMissingError` | `metrics` | a metric cannot run on this input; its weights are not fetched |
"""


class StyleGANError(Exception):
    """Base of every error meant for the user: the message is one line saying what is wrong and, where it helps,
    what to do."""


class InputError(StyleGANError, ValueError):
    """A value, option or file given by the caller is unusable; the message names it."""
