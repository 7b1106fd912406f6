"""The errors of training a network (the dataset's own are `training.dataset.DatasetError`)."""
from stylegan_tf.errors import StyleGANError


class TrainingError(StyleGANError, RuntimeError):
    """Training cannot go on, or cannot start; the message says why and what was kept. `resume_dir`: the run
    directory to continue from with `--resume` once the cause is dealt with (None: nothing to resume)."""

    def __init__(self, message, resume_dir=None):
        super().__init__(message)
        self.resume_dir = resume_dir


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at the user's request (Ctrl-C); `resume_dir` is the run directory to continue from (None
    when the run stopped before its first checkpoint)."""

    def __init__(self, message, resume_dir=None):
        super().__init__(message)
        self.resume_dir = resume_dir
