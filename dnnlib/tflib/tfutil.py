"""Official ``tfutil`` helpers, for TensorFlow 2 (no sessions, no graphs to manage)."""
import os

import numpy as np
import tensorflow as tf

from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.ops import lerp, lerp_clip

__all__ = ["convert_images_to_uint8", "init_tf", "is_tf_expression", "lerp", "lerp_clip"]


def is_tf_expression(x):
    """True for TensorFlow tensors and variables."""
    return tf.is_tensor(x) or isinstance(x, tf.Variable)


def init_tf(config=None):
    """Seed NumPy and TensorFlow as the official ``init_tf`` did (there is no session to create).

    ``config`` keys: ``rnd.np_random_seed`` (default None: leave NumPy alone),
    ``rnd.tf_random_seed`` (default 'auto': drawn from NumPy), ``env.NAME`` (set
    ``os.environ['NAME']``). Other official keys (graph and session options) are ignored.
    """
    cfg = {"rnd.np_random_seed": None, "rnd.tf_random_seed": "auto", **(config or {})}
    for key, value in cfg.items():
        if key.startswith("env.") and value is not None:
            os.environ[key[4:]] = str(value)
    if cfg["rnd.np_random_seed"] is not None:
        np.random.seed(cfg["rnd.np_random_seed"])
    tf_seed = cfg["rnd.tf_random_seed"]
    if tf_seed == "auto":
        tf_seed = np.random.randint(1 << 31)
    if tf_seed is not None:
        tf.random.set_seed(int(tf_seed))
