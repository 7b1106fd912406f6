"""The arithmetic a run trains in: float32, official mixed float16 (with loss scaling), or bfloat16 where the
hardware computes it natively.

`TrainingOptions.bfloat16` is 'off', 'on' or 'auto'. 'auto' means bfloat16 where this machine has native bfloat16
units (`native_bfloat16`: a CPU with AMX-BF16 or AVX512-BF16, a GPU of compute capability 8.0 or more), else
float32; on a CPU without them TensorFlow emulates bfloat16 and is slower than float32. Under bfloat16, G and D
compute in bfloat16 with float32 variables (Keras `mixed_bfloat16`; bfloat16 has float32's exponent range, so no
loss scaling); Gs, the network that is sampled, evaluated and exported, stays float32.
"""
import dataclasses

import tensorflow as tf

from stylegan_tf.errors import InputError

BFLOAT16_SETTINGS = ("off", "on", "auto")
#: /proc/cpuinfo flags of x86 CPUs that compute bfloat16 matrix products natively
_CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclasses.dataclass(frozen=True)
class Precision:
    """The dtypes of a run: `train` for G and D ('float32', 'float16' or 'bfloat16'), `Gs` for Gs, and `why`, a
    sentence for the log."""
    train: str
    Gs: str  # noqa: N815
    why: str

    @classmethod
    def of(cls, train, why=None):
        """The precision that trains G and D in `train` ('float32', 'float16' or 'bfloat16'): Gs in float32 under
        bfloat16, else in `train` (official float16 builds Gs in float16 too)."""
        if train not in ("float32", "float16", "bfloat16"):
            raise InputError(f"dtype must be float32, float16 or bfloat16, got {train!r}")
        return cls(train, "float32" if train == "bfloat16" else train, why or train)

    @property
    def loss_scaling(self):
        """Whether the losses are scaled (float16's narrow exponent range; official dynamic loss scaling)."""
        return self.train == "float16"


def cpu_bfloat16_flags(cpuinfo="/proc/cpuinfo"):
    """The native bfloat16 flags (`_CPU_BF16_FLAGS`) in `cpuinfo`'s first 'flags' line; () where it cannot be
    read (not Linux) or has none."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return tuple(flag for flag in _CPU_BF16_FLAGS if flag in present)
    except OSError:
        pass
    return ()


def native_bfloat16():
    """`(bool, reason)`: whether the device the run trains on computes bfloat16 natively: the first GPU (compute
    capability >= 8.0) when there is one, else the CPU (`cpu_bfloat16_flags`)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") or (0, 0)
        native = tuple(capability) >= (8, 0)
        return native, f"GPU compute capability {capability[0]}.{capability[1]}"
    flags = cpu_bfloat16_flags()
    return bool(flags), f"CPU with {' and '.join(f.upper() for f in flags)}" if flags else "CPU without AMX-BF16"


def run_precision(bfloat16="off", mixed_precision=False):
    """The `Precision` of a run's options: `bfloat16` 'off' | 'on' | 'auto', `mixed_precision` (float16).
    `InputError` for an unknown setting, or bfloat16 'on' together with mixed float16. 'on' without native
    bfloat16 units trains as asked, its `why` saying that bfloat16 is emulated (12x slower than float32 on an AVX2
    CPU, README)."""
    if bfloat16 not in BFLOAT16_SETTINGS:
        raise InputError(f"option bfloat16 is {bfloat16!r}, which is not one of {', '.join(BFLOAT16_SETTINGS)}")
    if mixed_precision:
        if bfloat16 == "on":
            raise InputError("bfloat16 and mixed_precision (float16) exclude each other: give one of them")
        return Precision.of("float16", "mixed float16 with dynamic loss scaling (--mixed_precision)")
    if bfloat16 == "off":
        return Precision.of("float32")
    native, reason = native_bfloat16()
    if bfloat16 == "on":
        emulated = "" if native else f"; emulated: {reason}, many times slower than float32"
        return Precision.of("bfloat16", f"G and D in bfloat16 (--bfloat16=on{emulated}), Gs in float32")
    if native:
        return Precision.of("bfloat16", f"G and D in bfloat16 ({reason}; --bfloat16=auto), Gs in float32")
    return Precision.of("float32", f"float32 (no native bfloat16: {reason}; --bfloat16=auto)")
