"""The options of a training run, typed: every field with its meaning and default, and `training_options.json`.

`TrainingOptions` is what `training.training_loop.TrainingLoop` takes and what a run directory records; the presets
(`training.presets`) return one. Field names are the official `training_loop` keyword arguments where there is one
(`sched_args`, `G_opt_args`, `G_smoothing_kimg`, ...). Defaults: the official StyleGAN `train.py` configuration
(FFHQ, before the per-GPU minibatches), else the official `training_loop` defaults.

`training_options.json` is `dataclasses.asdict` of the options (resolution keys of the schedule's dictionaries
become strings, `grid_size` a list). `load` reads it back, checking every value's type; files written before these
options were typed (the same keys, some of them missing, e.g. `tests/data/legacy_run`) load too, missing fields
taking their defaults. A file that is not such a JSON object, or holds an unknown option or a value of the wrong
type, is one `InputError` naming the file and the option.
"""
import dataclasses
import json
import os
import types
import typing
from typing import Optional

from stylegan_tf import fileio, run_dir
from stylegan_tf.errors import InputError

#: official tick lengths (kimg) per resolution
DEFAULT_TICK_KIMG = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}


@dataclasses.dataclass
class Adam:
    """The Adam settings of one network's optimizer (official `G_opt` / `D_opt`); its learning rate comes from the
    schedule."""
    beta1: float = 0.0  #: decay of the first moments
    beta2: float = 0.99  #: decay of the second moments
    epsilon: float = 1e-8  #: added to the root of the second moments


@dataclasses.dataclass
class Schedule:
    """The progressive-growing schedule (official `training_schedule` arguments and defaults): what
    `training.schedule.training_schedule` evaluates at each number of images shown. The dictionaries map a
    resolution (4, 8, ..., 1024) to the value used while training at it; resolutions not in them use the base."""
    lod_initial_resolution: int = 4  #: the resolution training starts at
    lod_training_kimg: float = 600  #: kimg of each stable phase
    lod_transition_kimg: float = 600  #: kimg of each fade-in of the next resolution
    minibatch_base: int = 16  #: global minibatch (over all replicas)
    minibatch_dict: dict[int, int] = dataclasses.field(default_factory=dict)
    max_minibatch_per_gpu: dict[int, int] = dataclasses.field(default_factory=dict)  #: cap per replica
    G_lrate_base: float = 0.001  #: G's learning rate
    G_lrate_dict: dict[int, float] = dataclasses.field(default_factory=dict)
    D_lrate_base: float = 0.001  #: D's learning rate
    D_lrate_dict: dict[int, float] = dataclasses.field(default_factory=dict)
    lrate_rampup_kimg: float = 0  #: learning rates ramp up linearly over the first kimg (0: off)
    tick_kimg_base: float = 160  #: kimg between ticks (log line, TensorBoard, grids, checkpoints)
    tick_kimg_dict: dict[int, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_TICK_KIMG))


def stylegan_schedule():
    """The schedule of the official StyleGAN `train.py`: from 8x8, minibatch 4, learning rates 0.0015-0.003 at
    128 px and up (the FFHQ presets set the per-GPU minibatches)."""
    lrates = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
    return Schedule(lod_initial_resolution=8, minibatch_base=4, G_lrate_dict=dict(lrates), D_lrate_dict=dict(lrates))


@dataclasses.dataclass
class Augment:
    """Discriminator augmentation (StyleGAN2-ADA; `training.augment`, `training.ada`): every image D sees in
    training is augmented with probability `p` per transform; with a `target`, ADA tunes `p`. Official names in
    the comments. `mode` says which of the three settings of `stylegan-train --augment` this is."""
    pipeline: Optional[str] = None  #: `training.augment.PIPELINES` name (official `augpipe`, 'bgc'); None: off
    p: float = 0.0  #: augmentation probability at the start (official `augment_p`); fixed when `target` is None
    target: Optional[float] = None  #: ADA target of E[sign(D(reals))] (official `ada_target`, 0.6); None: fixed `p`
    interval: int = 4  #: minibatches between two adjustments of `p` (official `ada_interval`)
    speed_kimg: float = 500.0  #: kimg for `p` to move by 1 at most (official `ada_kimg`)

    @property
    def mode(self):
        """'none' (no pipeline), 'ada' (a target) or 'fixed'."""
        return "none" if self.pipeline is None else "fixed" if self.target is None else "ada"


@dataclasses.dataclass
class TrainingOptions:
    """Every option of a training run (see the module docstring for names and defaults)."""
    config: Optional[str] = None  #: the preset these options started from; names the run directory
    # -- data
    data: Optional[str] = None  #: dataset directory (official multi-resolution TFRecords)
    dataset_args: dict = dataclasses.field(default_factory=dict)  #: more `TFRecordDataset` keyword arguments
    mirror_augment: bool = False  #: random horizontal flips of the reals
    # -- networks
    G_func: str = "G_style"  #: build function of G and Gs (`stylegan_tf.official.NETWORKS`)
    D_func: str = "D_basic"  #: build function of D
    G_args: dict = dataclasses.field(default_factory=dict)  #: G's keyword arguments (beyond the dataset's shape)
    D_args: dict = dataclasses.field(default_factory=dict)  #: D's keyword arguments
    data_format: str = "auto"  #: internal layout: 'NCHW', 'NHWC' or 'auto' (NCHW on a GPU)
    mixed_precision: bool = False  #: float16 networks with dynamic loss scaling
    bfloat16: str = "off"  #: G and D in bfloat16: 'on', 'off', or 'auto' where native (`training.precision`)
    # -- losses and optimizers
    G_loss: str = "G_logistic_nonsaturating"  #: `training.loss.G_LOSSES` name
    G_loss_args: dict = dataclasses.field(default_factory=dict)
    D_loss: str = "D_logistic_simplegp"  #: `training.loss.D_LOSSES` name
    D_loss_args: dict = dataclasses.field(default_factory=lambda: {"r1_gamma": 10.0})
    G_opt_args: Adam = dataclasses.field(default_factory=Adam)
    D_opt_args: Adam = dataclasses.field(default_factory=Adam)
    style_mixing: bool = True  #: mix two latents' styles in G's training images (StyleGAN networks)
    augment: Augment = dataclasses.field(default_factory=Augment)
    # -- the loop
    sched_args: Schedule = dataclasses.field(default_factory=stylegan_schedule)
    total_kimg: float = 25000  #: length of training, in thousands of real images shown
    minibatch_repeats: int = 4  #: minibatches between two evaluations of the schedule
    D_repeats: int = 1  #: D steps (each on its own minibatch) per G step
    reset_opt_for_new_lod: bool = True  #: reset Adam when a new lod phase starts
    G_smoothing_kimg: float = 10.0  #: half-life (kimg) of Gs's moving average of G (0: Gs = G)
    #: Gs's half-life is at most this fraction of the images shown so far (StyleGAN2-ADA's ema_rampup; None: off,
    #: as official StyleGAN)
    G_smoothing_rampup: Optional[float] = None
    seed: int = 1000  #: random seed: initialization, latents, data order
    xla: bool = False  #: compile the training step with XLA
    # -- what a run writes
    image_snapshot_ticks: int = 1  #: image grid every N ticks (0: none)
    network_snapshot_ticks: int = 10  #: network snapshot (.pkl) every N ticks (0: only the final one)
    checkpoint_ticks: int = 1  #: checkpoint every N ticks (0: only at the end)
    grid_size: Optional[tuple[int, int]] = None  #: (columns, rows) of the grids; None: official, about 1920x1080
    metrics: list[str] = dataclasses.field(default_factory=list)  #: evaluated at each network snapshot
    # -- starting from a network
    resume_pkl: Optional[str] = None  #: network pickle a new run starts from (e.g. to fine-tune)
    resume_kimg: float = 0.0  #: the progress `resume_pkl` starts at (sets lod and schedule)

    def to_json(self):
        """The text of `training_options.json`."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text, where="training options"):
        """Options from the text of `training_options.json` (see the module docstring); `where` names it in
        errors."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise InputError(f"{where} is not valid JSON ({' '.join(str(error).split())[:200]})") from None
        return _dataclass_from(cls, data, where, "")


def save(options, directory):
    """Write `options` as the `training_options.json` of run directory `directory` (atomically)."""
    fileio.write_text(os.path.join(directory, run_dir.OPTIONS), options.to_json())


def load(directory):
    """The `TrainingOptions` of run directory `directory`; `InputError` if it is not a run directory or its options
    file is damaged."""
    path = os.path.join(directory, run_dir.OPTIONS)
    if not os.path.isdir(directory):
        raise InputError(f"{directory} does not exist or is not a directory")
    if not os.path.isfile(path):
        raise InputError(f"{directory} is not a run directory (no {run_dir.OPTIONS})")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise InputError(f"{path} is damaged: it is not UTF-8 text") from None
    return TrainingOptions.from_json(text, where=path)


def _dataclass_from(cls, data, where, prefix):
    if not isinstance(data, dict):
        what = f"option {prefix.rstrip('.')} is" if prefix else "the file holds"
        raise InputError(f"{where}: {what} {_kind(data)}, not an object of options")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        raise InputError(f"{where}: unknown option {prefix}{unknown[0]} (is this a training_options.json of "
                         f"stylegan-tf?)")
    return cls(**{name: _typed(value, hints[name], where, prefix + name) for name, value in data.items()})


def _kind(value):
    """`null`, `a list`, `an int` ... (the type of a JSON value)."""
    return "null" if value is None else _a(type(value).__name__)


def _a(name):
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _typed(value, annotation, where, name):
    """`value` (from JSON) as `annotation`; InputError naming option `name` if it is not one."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        return _dataclass_from(annotation, value, where, name + ".")
    if origin in (typing.Union, types.UnionType):  # Optional[X]
        return None if value is None else _typed(value, next(a for a in args if a is not type(None)), where, name)
    expected = {bool: bool, int: int, float: (int, float), str: str}.get(annotation)
    if expected is not None:
        if isinstance(value, expected) and (annotation is bool or not isinstance(value, bool)):
            return float(value) if annotation is float else value
        raise InputError(f"{where}: option {name} is {_kind(value)} ({str(value)[:40]}), not "
                         f"{_a(annotation.__name__)}")
    if origin is tuple or origin is list:
        if not isinstance(value, list) or (origin is tuple and len(value) != len(args)):
            size = f"{len(args)} " if origin is tuple else ""
            raise InputError(f"{where}: option {name} is {_kind(value)}, not a list of {size}values")
        kinds = args if origin is tuple else args * len(value)
        items = [_typed(v, kind, where, f"{name}[{i}]") for i, (v, kind) in enumerate(zip(value, kinds))]
        return tuple(items) if origin is tuple else items
    if annotation is dict or origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where}: option {name} is {_kind(value)}, not an object")
        if not args:
            return value
        if not all(str(k).isdigit() for k in value):
            raise InputError(f"{where}: option {name} maps resolutions, but has the key "
                             f"{next(k for k in value if not str(k).isdigit())!r}")
        return {int(k): _typed(v, args[1], where, f"{name}[{k}]") for k, v in value.items()}
    raise TypeError(f"option {name}: unsupported annotation {annotation}")  # a bug in the dataclasses above
