"""The official ``dnnlib.tflib.Network`` API, backed by our Keras networks.

``pickle.load`` of an official network pickle creates these objects: ``__setstate__``
builds the Keras network named by ``build_func_name`` from ``static_kwargs`` and loads the
variables; ``build_module_src`` is never executed. ``Network.model`` is the ``keras.Model``.
Variable names seen from a parent carry the component prefix (``'G_synthesis/lod'``).

Keyword arguments of ``run`` / ``get_output_for`` work as official: the network's run-time
options go to its call; a static keyword argument given with another value rebuilds the
network with it on the same variables (``nonlinearity='relu'``, ``blur_filter=None``,
``dtype='float64'`` ...), which is an error only where that would need other variables
(``resolution``, ``fmap_base``, ``mbstd_group_size`` 4 -> 1 ...); other keywords are ignored.
"""
import collections
import copy

import numpy as np
import tensorflow as tf

from dnnlib.util import EasyDict
from stylegan_tf import networks_stylegan2, official
from stylegan_tf.errors import InputError
from stylegan_tf.official import NETWORKS
from stylegan_tf.scopes import VariableMismatchError

#: our call options beyond the official keyword arguments (``lod`` overrides the variable)
_CALL_OPTIONS = ("lod", "style_mixing_draws", "rng")
_IO_NAMES = {
    "G_style": (["latents_in", "labels_in"], ["images_out"]),
    "G_mapping": (["latents_in", "labels_in"], ["dlatents_out"]),
    "G_synthesis": (["dlatents_in"], ["images_out"]),
    "D_basic": (["images_in", "labels_in"], ["scores_out"]),
    "G_paper": (["latents_in", "labels_in"], ["images_out"]),
    "D_paper": (["images_in", "labels_in"], ["scores_out"]),
    "G_main": (["latents_in", "labels_in"], ["images_out"]),
    "G_synthesis_stylegan2": (["dlatents_in"], ["images_out"]),
    "G_synthesis_stylegan_revised": (["dlatents_in"], ["images_out"]),
    "D_stylegan2": (["images_in", "labels_in"], ["scores_out"]),
    "D_stylegan": (["images_in", "labels_in"], ["scores_out"]),
}


def _network_class(func_name):
    """The network class of 'training.networks_stylegan.G_style', a function, or 'G_style'. StyleGAN2's mapping
    network has StyleGAN's build function name: 'G_mapping' builds StyleGAN's, a name in a module
    '...networks_stylegan2' StyleGAN2's (see ``stylegan_tf.networks_stylegan2``)."""
    module, _, name = str(getattr(func_name, "__name__", func_name)).rpartition(".")
    if name not in NETWORKS:
        raise InputError(f"unknown build function '{func_name}' (supported: {', '.join(sorted(NETWORKS))})")
    if name == "G_mapping" and module.endswith("networks_stylegan2"):
        return networks_stylegan2.G_mapping
    return NETWORKS[name]


class Network:
    """An official-style network: ``Network(name, func_name='...G_style', **static_kwargs)``,
    or the result of unpickling an official network pickle."""

    def __init__(self, name=None, func_name=None, data_format="auto", **static_kwargs):
        cls = _network_class(func_name)
        self._attach(cls(name=name or cls.build_func_name, data_format=data_format, **static_kwargs))

    @classmethod
    def from_model(cls, model):
        """Wrap one of our Keras networks (sharing its variables)."""
        net = cls.__new__(cls)
        net._attach(model)
        return net

    def _attach(self, model):
        self.model = model
        self._run_cache = {}
        self._variants = {}  # repr of static overrides -> the network rebuilt with them
        self.components = EasyDict({k: Network.from_model(c) for k, c in model.components.items()})

    # -- pickling -----------------------------------------------------------------
    def __getstate__(self):
        state = official.network_state(self.model)
        state["components"] = dict(self.components)
        return state

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise official.NetworkPickleError(f"a Network in the pickle has a {type(state).__name__} as its state")
        given = {} if state.get("components") is None else state["components"]
        if not isinstance(given, dict) or not all(isinstance(c, Network) for c in given.values()):
            raise official.NetworkPickleError(f"network {str(state.get('name'))[:80]!r}: 'components' must map names "
                                              f"to networks")
        self._attach(official.build_network({**state, "components": {}}, {k: c.model for k, c in given.items()}))

    # -- properties ---------------------------------------------------------------
    @property
    def name(self):
        return self.model.name

    @property
    def scope(self):
        return self.model.name

    @property
    def static_kwargs(self):
        return EasyDict(self.model.static_kwargs)

    @property
    def input_shapes(self):
        return [list(s) for s in self.model.input_shapes]

    @property
    def output_shapes(self):
        return [list(self.model.official_output_shape)]

    @property
    def input_shape(self):
        return self.input_shapes[0]

    @property
    def output_shape(self):
        return self.output_shapes[0]

    @property
    def num_inputs(self):
        return len(self.input_shapes)

    @property
    def num_outputs(self):
        return len(self.output_shapes)

    @property
    def input_names(self):
        return list(_IO_NAMES[self.model.build_func_name][0])

    @property
    def output_names(self):
        return list(_IO_NAMES[self.model.build_func_name][1])

    @property
    def own_vars(self):
        """OrderedDict name -> variable of this network's own variables."""
        return collections.OrderedDict(self.model.official_variables())

    @property
    def vars(self):
        """OrderedDict name -> variable, components included (prefixed by component name)."""
        return collections.OrderedDict(self.model.all_official_variables())

    @property
    def trainables(self):
        return collections.OrderedDict((n, v) for n, v in self.vars.items() if v.trainable)

    # -- variables ----------------------------------------------------------------
    def find_var(self, var_or_name):
        if not isinstance(var_or_name, str):
            return var_or_name
        try:
            return self.vars[var_or_name]
        except KeyError:
            raise KeyError(f"network '{self.name}' has no variable '{var_or_name}'") from None

    def get_var(self, var_or_name):
        """Value of one variable as NumPy."""
        return self.find_var(var_or_name).numpy()

    def set_var(self, var_or_name, new_value):
        var = self.find_var(var_or_name)
        var.assign(np.asarray(new_value, dtype=np.float32).reshape(var.shape))

    def get_vars(self, names):
        return [self.get_var(n) for n in names]

    def set_vars(self, var_to_value_dict):
        for name, value in var_to_value_dict.items():
            self.set_var(name, value)

    def copy_own_vars_from(self, src_net):
        for name, var in self.own_vars.items():
            var.assign(src_net.own_vars[name])

    def copy_vars_from(self, src_net):
        src = src_net.vars
        for name, var in self.vars.items():
            var.assign(src[name])

    def copy_trainables_from(self, src_net):
        src = src_net.trainables
        for name, var in self.trainables.items():
            var.assign(src[name])

    def copy_compatible_trainables_from(self, src_net):
        """Copy the trainables that exist in both networks with the same shape."""
        src = src_net.trainables
        for name, var in self.trainables.items():
            if name in src and tuple(src[name].shape) == tuple(var.shape):
                var.assign(src[name])

    def clone(self, name=None, **new_static_kwargs):
        """A new network with the same (or updated) static kwargs and copied variables."""
        kwargs = {**self.model.static_kwargs, **new_static_kwargs}
        net = Network.from_model(type(self.model)(name=name or self.name, data_format=self.model.data_format,
                                                  **kwargs))
        net.copy_vars_from(self)
        return net

    # -- evaluation ---------------------------------------------------------------
    def _model_and_call_kwargs(self, dynamic_kwargs):
        """Split official dynamic kwargs into ``(model, call kwargs)``.

        Run-time options go to the call. Static kwargs given with another value select
        ``model.variant(**those)`` (built once, outside any graph, on the same variables); a
        static kwarg repeated with its value and any other keyword are ignored, as the official
        build functions ignore unknown keywords. Raises ValueError if the variant would need
        different variables.
        """
        model, call, overrides = self.model, {}, {}
        statics = {}
        for net in [model, *model.components.values()]:
            statics.update(net.kwargs)
        for key, value in dynamic_kwargs.items():
            if key in model.RUN_KWARGS or key in _CALL_OPTIONS:
                call[key] = value
            elif key in statics and statics[key] != value:
                overrides[key] = value
        if not overrides:
            return model, call
        key = repr(sorted(overrides.items()))
        if key not in self._variants:
            try:
                with tf.init_scope():
                    self._variants[key] = model.variant(**overrides)
            except VariableMismatchError as error:
                given = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
                static = ", ".join(f"{k}={statics[k]!r}" for k in overrides)
                raise InputError(f"network '{self.name}': {given} differs from the network's {static} and would "
                                 f"need different variables ({error}); build a new network") from None
        return self._variants[key], call

    def get_output_for(self, *in_expr, return_as_list=False, **dynamic_kwargs):
        """Evaluate the network on tensors (eagerly, or inside the caller's tf.function)."""
        model, call_kwargs = self._model_and_call_kwargs(dynamic_kwargs)
        inputs = [self._default_input(x, shape, tf.shape(in_expr[0])[0])
                  for x, shape in zip(in_expr, self.input_shapes)]
        out = model(*inputs, **call_kwargs)
        if isinstance(out, (tuple, list)):  # several outputs (G_main's return_dlatents)
            return list(out) if return_as_list else tuple(out)
        return [out] if return_as_list else out

    @staticmethod
    def _default_input(x, shape, batch):
        """Official: a None input (e.g. labels of an unconditional network) means zeros."""
        if x is None:
            return tf.zeros(tf.concat([[batch], shape[1:]], axis=0), tf.float32)
        return x

    def run(self, *in_arrays, input_transform=None, output_transform=None, return_as_list=False,
            print_progress=False, minibatch_size=None, num_gpus=1, assume_frozen=False, **dynamic_kwargs):
        """Evaluate on NumPy arrays in minibatches; returns NumPy (a list if several outputs
        or ``return_as_list``). ``input_transform`` / ``output_transform``:
        ``dict(func=f, **kwargs)`` applied to the input / output tensors, as official."""
        del num_gpus, assume_frozen  # one device; variables are always read live
        self._model_and_call_kwargs(dynamic_kwargs)  # checked, and any variant built, before tracing
        num_items = in_arrays[0].shape[0]
        minibatch_size = minibatch_size or max(num_items, 1)
        fn = self._compiled_run(input_transform, output_transform, dynamic_kwargs)
        outputs = []
        for begin in range(0, num_items, minibatch_size):
            if print_progress:
                print(f"\r{begin} / {num_items}", end="", flush=True)
            end = min(begin + minibatch_size, num_items)
            batch = [np.zeros([end - begin] + shape[1:], np.float32) if x is None else np.asarray(x[begin:end])
                     for x, shape in zip(in_arrays, self.input_shapes)]
            outputs.append([np.asarray(o) for o in fn(*batch)])
        if print_progress:
            print(f"\r{num_items} / {num_items}")
        result = [np.concatenate(parts) for parts in zip(*outputs)]
        return result if return_as_list or len(result) > 1 else result[0]

    def _compiled_run(self, input_transform, output_transform, dynamic_kwargs):
        key = repr((input_transform, output_transform, sorted(dynamic_kwargs.items(), key=lambda kv: kv[0])))
        if key not in self._run_cache:
            in_tf = copy.deepcopy(input_transform)
            out_tf = copy.deepcopy(output_transform)

            def transform(spec, tensors):
                if spec is None:
                    return tensors
                spec = dict(spec)
                result = spec.pop("func")(*tensors, **spec)
                return list(result) if isinstance(result, (list, tuple)) else [result]

            @tf.function(reduce_retracing=True)
            def fn(*inputs):
                inputs = transform(in_tf, list(inputs))
                return transform(out_tf, self.get_output_for(*inputs, return_as_list=True, **dynamic_kwargs))

            self._run_cache[key] = fn
        return self._run_cache[key]

    def __repr__(self):
        return f"<dnnlib.tflib.Network '{self.name}' ({self.model.build_func_name}, {len(self.vars)} variables)>"
