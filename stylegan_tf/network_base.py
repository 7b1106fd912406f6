"""What every official-style network shares: static keyword arguments, layout and
dtype settings, official variable names, the level-of-detail (lod) arithmetic."""
import math
from typing import NamedTuple, Optional

import keras
import numpy as np
import tensorflow as tf

from stylegan_tf import ops
from stylegan_tf.errors import InputError
from stylegan_tf.scopes import OfficialScope, reusing_variables


class _Unset:
    """Marks a call argument left unset: the network's static value applies."""

    def __repr__(self):
        return "UNSET"


UNSET = _Unset()


def resolve_data_format(data_format="auto"):
    """'auto' -> 'NCHW' when a GPU is visible, else 'NHWC' (TF's CPU kernels need NHWC)."""
    if data_format == "auto":
        return "NCHW" if tf.config.list_logical_devices("GPU") else "NHWC"
    return ops.check_data_format(data_format)


def dtype_policy(dtype="float32"):
    """Official ``dtype`` ('float32', 'float16', 'float64') or a Keras policy name -> a Keras policy
    name. As official, variables stay float32 whatever the activations' dtype."""
    if isinstance(dtype, keras.DTypePolicy):
        return dtype.name
    policies = {"float32": "float32", "float64": "float64", "float16": "mixed_float16",
                "mixed_float16": "mixed_float16", "bfloat16": "mixed_bfloat16", "mixed_bfloat16": "mixed_bfloat16"}
    if dtype not in policies:
        raise InputError(f"dtype must be one of {sorted(policies)}, got {dtype!r}")
    return policies[dtype]


def nf_function(fmap_base, fmap_decay, fmap_max, res_log2, fmap_min=None):
    """Official feature-map count per stage: ``min(int(base / 2**(stage*decay)), max)`` (StyleGAN2:
    ``np.clip(..., fmap_min, fmap_max)``, so ``fmap_max`` wins over a larger ``fmap_min``); raises
    ValueError if the highest stage a network of ``2**res_log2`` px uses gets none."""
    def nf(stage):
        count = int(fmap_base / (2.0 ** (stage * fmap_decay)))
        if fmap_min is not None:
            count = max(count, int(fmap_min))
        return min(count, fmap_max)

    if nf(res_log2 - 1) < 1:
        raise InputError(f"fmap_base={fmap_base} with fmap_decay={fmap_decay} leaves no feature maps at "
                         f"{2 ** res_log2}x{2 ** res_log2}: increase fmap_base")
    return nf


def resolution_log2(resolution):
    res_log2 = int(np.log2(resolution))
    if resolution != 2 ** res_log2 or resolution < 4:
        raise InputError(f"resolution must be a power of two >= 4, got {resolution}")
    return res_log2


def static_lod(lod):
    """The Python value of ``lod`` if it is known outside a traced graph, else None."""
    if isinstance(lod, (int, float, np.number)):
        return float(lod)
    if tf.executing_eagerly():
        return float(tf.convert_to_tensor(lod).numpy())
    return None


def active_resolution_log2(lod, res_log2):
    """log2 of the highest resolution a network evaluates at ``lod`` (a Python number):
    ``res_log2 - floor(lod)``, clipped to [2, res_log2]."""
    level = min(max(math.floor(lod), 0), res_log2 - 2)
    return res_log2 - level


def plan_resolutions(lod, res_log2, structure, top_log2=None):
    """Which resolutions a call evaluates, as ``(top_log2, fade_from)`` (log2 sizes).

    ``top_log2``: the highest resolution evaluated. ``fade_from``: the lowest resolution
    whose RGB image (G) or RGB input (D) takes part in the level-of-detail fade.
    - ``top_log2`` given (the training path: G's ``resolution`` / D's image size), or a
      concrete ``lod`` with the 'recursive' structure: only the blocks up to the current
      resolution run and only its fade matters (``fade_from = top_log2 - 1``).
    - symbolic ``lod`` or 'linear': every block runs, every level fades (``fade_from = 2``).
    - 'fixed': every block, no fade (``fade_from = res_log2``).
    """
    if structure == "fixed":
        return res_log2, res_log2
    if top_log2 is None:
        lod_value = static_lod(lod) if structure == "recursive" else None
        if lod_value is None:
            return res_log2, 2
        top_log2 = active_resolution_log2(lod_value, res_log2)
    return top_log2, max(top_log2 - 1, 2)


class Level(NamedTuple):
    """One level of progressive growing: the block of resolution ``2**r`` and its RGB layer
    (G: ``ToRGB_lod{k}``, run on the block's output; D: ``FromRGB_lod{k}``, feeding the block;
    None where a 'fixed' network has none)."""

    block: keras.layers.Layer
    rgb: Optional[keras.layers.Layer]


def grow_images(x, levels, lod, res_log2, top_log2, fade_from, data_format, upsample=None, **block_kwargs):
    """The generator side of progressive growing.

    ``levels``: ``{r: Level}`` for r = 2 .. ``res_log2``. Runs ``x = levels[r].block(x,
    **block_kwargs)`` for r = 2 .. ``top_log2`` and fades the images ``levels[r].rgb(x, **block_kwargs)``
    of the levels r >= ``fade_from``: with ``t = lod - (res_log2 - r)`` each level's image is
    ``lerp_clip(rgb(x), upsample(previous image, t), t)``, so at ``lod = k + f`` the result is the
    ``R / 2^k`` image faded by ``f`` towards the upsampled ``R / 2^(k+1)`` one (official 'linear' graph;
    'recursive' when only the top two levels fade). ``upsample(images, t)``: 2x, nearest by default
    (StyleGAN, ProGAN). Returns the (internal-layout) images at ``2**top_log2`` px.
    """
    upsample = upsample or (lambda images, t: ops.upscale2d(images, 2, data_format))
    images = None
    for r in range(2, top_log2 + 1):
        x = levels[r].block(x, **block_kwargs)
        if r < fade_from:
            continue
        img = levels[r].rgb(x, **block_kwargs)
        t = lod - (res_log2 - r)
        images = img if images is None else ops.lerp_clip(img, upsample(images, t), t)
    return images


def grow_features(images, levels, lod, res_log2, top_log2, fade_from, data_format, downsample=None,
                  **block_kwargs):
    """The discriminator side of progressive growing.

    ``images``: internal-layout images of any size >= ``2**top_log2`` (box-downscaled to it);
    ``levels``: ``{r: Level}``. ``x = levels[top_log2].rgb(images)``, then for r = ``top_log2`` .. 3:
    ``x = levels[r].block(x, **block_kwargs)`` (to ``2**(r-1)`` px), faded where r - 1 >=
    ``fade_from`` with the ``rgb`` layer of level r - 1 on the images ``downsample``d to ``2**(r-1)``
    (2x, box by default): ``lerp_clip(x, rgb(...), lod - (res_log2 - r))``. Returns the output of the
    4x4 block.
    """
    downsample = downsample or (lambda t: ops.downscale2d(t, 2, data_format))
    size_log2 = int(np.log2(ops.spatial_size(images, data_format)[0]))
    images = ops.downscale2d(images, 2 ** (size_log2 - top_log2), data_format)
    x = levels[top_log2].rgb(images)
    for r in range(top_log2, 2, -1):
        x = levels[r].block(x, **block_kwargs)
        if r - 1 < fade_from:
            continue
        images = downsample(images)
        x = ops.lerp_clip(x, levels[r - 1].rgb(images), lod - (res_log2 - r))
    return levels[2].block(x, **block_kwargs)


def scope_tree(named_variables):
    """A trackable tree whose object paths are the official names: ``'a/b/c'`` -> ``root.a.b.c``."""
    root = tf.Module()
    for name, variable in named_variables:
        *scopes, leaf = name.split("/")
        node = root
        for scope in scopes:
            if not hasattr(node, scope):
                setattr(node, scope, tf.Module())
            node = getattr(node, scope)
        setattr(node, leaf, variable)
    return root


class OfficialNetwork(OfficialScope, keras.Model):
    """Base of the official networks (a ``keras.Model`` and the root official scope).

    Subclasses set ``build_func_name`` and ``DEFAULTS`` (the official keyword arguments
    with their defaults). ``static_kwargs`` keeps exactly the keyword arguments passed at
    construction (what an official pickle stores); ``kwargs`` merges them over the
    defaults. Variables are reachable by their official names (``official_variables``): the
    network's own (``lod`` ...) and its blocks' and layers', in official creation order.
    """

    build_func_name = None
    DEFAULTS = {}
    #: keyword arguments ``call`` accepts that change the computation but not the variables
    RUN_KWARGS = ()

    def __init__(self, name, data_format="auto", **static_kwargs):
        self.static_kwargs = dict(static_kwargs)
        self.kwargs = {**self.DEFAULTS, **self.static_kwargs}
        super().__init__(name=name, dtype=dtype_policy(self.kwargs.get("dtype", "float32")))
        self.data_format = resolve_data_format(data_format)
        self._official = []

    def _own_variable(self, name, shape, initializer, trainable=False):
        """A network-level variable (``lod``, ``dlatent_avg``, ``noise%d``). Non-trainables
        aggregate by mean, so replicas may update them (``dlatent_avg``: the mean of the
        per-replica updates is the update of the global batch)."""
        return self.add_official_weight(name, shape, initializer, trainable,
                                        aggregation="none" if trainable else "mean")

    def variant(self, **overrides):
        """This network built again with its static keyword arguments updated by ``overrides``, on
        this network's variables (shared, not copied), as the official code applies run-time
        keyword arguments (``nonlinearity='relu'``, ``blur_filter=None``, ``dtype='float64'`` ...).
        Components are rebuilt the same way. Raises ``VariableMismatchError`` if the overrides
        need a variable this network lacks or has with another shape (e.g. ``resolution``)."""
        components = {key: comp.variant(**overrides) for key, comp in self.components.items()}
        with reusing_variables(self.official_variables()):
            return type(self)(name=self.name, data_format=self.data_format, **components,
                              **{**self.static_kwargs, **overrides})

    def _resolve(self, name, value):
        return self.kwargs[name] if value is UNSET else value

    def fmap_shape(self, channels, res):
        """Shape of a ``[N, channels, res, res]`` activation in this network's internal layout."""
        return [None, channels, res, res] if self.data_format == "NCHW" else [None, res, res, channels]

    def _input_log2(self, images_in):
        """log2 of the size of D's input ``[N, num_channels, r, r]`` (r <= resolution), or ValueError."""
        k = self.kwargs
        size_log2 = resolution_log2(int(images_in.shape[-1]))
        if size_log2 > self.res_log2 or images_in.shape[1] != k["num_channels"]:
            raise InputError(f"{self.name} expects images [N, {k['num_channels']}, r, r] with r <= "
                             f"{k['resolution']}, got {list(images_in.shape)}")
        return size_log2

    @property
    def components(self):
        """Sub-networks by official component name (``{'synthesis': ..., 'mapping': ...}``)."""
        return {}

    def all_official_variables(self):
        """Own variables, then each component's prefixed with its network name."""
        out = list(self.official_variables())
        for comp in self.components.values():
            out.extend((f"{comp.name}/{n}", v) for n, v in comp.all_official_variables())
        return out

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        """``tf.train.Checkpoint`` sees every variable under its official name, one scope per
        level (checkpoint key ``G/G_synthesis/4x4/Conv/weight/.ATTRIBUTES/VARIABLE_VALUE``).
        Keras 3 does not track layers kept in lists or dicts, which would silently drop them."""
        if save_type != "checkpoint":
            return super()._trackable_children(save_type, **kwargs)
        if "_checkpoint_tree" not in self.__dict__:  # built once: the object graph must be stable
            object.__setattr__(self, "_checkpoint_tree", scope_tree(self.all_official_variables()))
        return self._checkpoint_tree._trackable_children(save_type, **kwargs)

    def get_config(self):
        return {"name": self.name, "data_format": self.data_format, **self.static_kwargs}


class SynthesisBase(OfficialNetwork):
    """A synthesis network: ``dlatents [N, num_styles, dlatent_size]`` -> ``images [N, C, R, R]``, with
    ``num_layers = 2 * log2(R) - 2`` style inputs per image (``num_styles``: ``num_layers``, or 1 for StyleGAN
    without styles). Subclasses set ``dlatents_shape`` ``[None, num_styles, dlatent_size]``."""

    def __init__(self, name, data_format, **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        self.res_log2 = resolution_log2(self.kwargs["resolution"])
        self.num_layers = self.res_log2 * 2 - 2

    @property
    def input_shapes(self):
        return [self.dlatents_shape]

    @property
    def official_output_shape(self):
        k = self.kwargs
        return [None, k["num_channels"], k["resolution"], k["resolution"]]


class DiscriminatorBase(OfficialNetwork):
    """A discriminator: ``images [N, C, R, R]`` (NCHW), ``labels [N, label_size]`` -> ``scores [N, 1]``."""

    @property
    def input_shapes(self):
        k = self.kwargs
        return [[None, k["num_channels"], k["resolution"], k["resolution"]], [None, k["label_size"]]]

    @property
    def official_output_shape(self):
        return [None, 1]
