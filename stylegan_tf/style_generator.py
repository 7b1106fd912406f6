"""What the style-based generators share (StyleGAN's `G_style`, StyleGAN2's `G_main`): the mapping and synthesis
components, `lod` and `dlatent_avg`, and the mapping side of a call: dlatents, their moving average, style mixing,
truncation.

Public tensors: `latents [N, latent_size]`, `labels [N, label_size]`, dlatents `[N, num_layers, dlatent_size]`
(float32), images `[N, C, R, R]` (NCHW).
"""
import tensorflow as tf

from stylegan_tf import layers, ops
from stylegan_tf.errors import InputError
from stylegan_tf.network_base import OfficialNetwork


def style_mix(mapping, dlatents, latents_in, labels_in, cur_layers, mixing_prob, draws=None, rng=None):
    """Official style mixing regularization of `dlatents [N, L, D]` (the mapping of `latents_in`): the layers
    `>= cutoff` take the dlatents of a second latent batch; with probability `1 - mixing_prob` the cutoff is
    `cur_layers` (no mixing). The draws, in official order: second latents (normal), a uniform number, the cutoff (an
    integer in `[1, max(cur_layers, 2))`); from `rng` (a `tf.random.Generator`) if given, or `draws = (latents2,
    uniform, cutoff)` replacing them."""
    if draws is None:
        if rng is None:
            latents2 = tf.random.normal(tf.shape(latents_in))
            uniform = tf.random.uniform([])
            cutoff = tf.random.uniform([], 1, tf.maximum(cur_layers, 2), dtype=tf.int32)
        else:
            latents2 = rng.normal(tf.shape(latents_in))
            uniform = rng.uniform([])
            cutoff = rng.uniform([], 1, tf.maximum(cur_layers, 2), dtype=tf.int32)
    else:
        latents2, uniform, cutoff = draws
    dlatents2 = mapping(latents2, labels_in)
    mixing_cutoff = tf.where(uniform < mixing_prob, tf.cast(cutoff, tf.int32), cur_layers)
    layer_idx = tf.range(int(dlatents.shape[1]))[None, :, None]
    return tf.where(layer_idx < mixing_cutoff, dlatents, tf.cast(dlatents2, dlatents.dtype))


def _is(value, test):
    """`test(value)` for a Python value; False for None and tensors (decided at run time)."""
    return value is not None and not tf.is_tensor(value) and test(value)


class StyleGenerator(OfficialNetwork):
    """Base of the style-based generators: mapping -> (training) `dlatent_avg` moving average -> (training) style
    mixing -> truncation `lerp(dlatent_avg, w, psi)` on layers `< truncation_cutoff` -> synthesis.

    Subclasses set `build_func_name`, `DEFAULTS` (their own keyword arguments; the others go to both components, as
    official) and `CUTOFF_NONE_IS_ALL` (StyleGAN2: a cutoff of None truncates every layer; StyleGAN: it disables
    truncation), and implement `make_components(component_kwargs, synthesis, mapping)`, which returns the
    `(synthesis, mapping)` pair, building those not given. Their `call` resolves its keyword arguments with
    `run_settings` and gets its dlatents from `map_latents`.
    """

    CUTOFF_NONE_IS_ALL = False

    def __init__(self, name="G", data_format="auto", synthesis=None, mapping=None, **static_kwargs):
        own = {key: v for key, v in static_kwargs.items() if key in self.DEFAULTS}
        component_kwargs = {key: v for key, v in static_kwargs.items() if key not in self.DEFAULTS}
        super().__init__(name, data_format, **static_kwargs)
        self.kwargs = {**self.DEFAULTS, **own}
        self.synthesis, self.mapping = self.make_components(component_kwargs, synthesis, mapping)
        self.lod = self._own_variable("lod", [], "zeros")
        self.dlatent_avg = self._own_variable("dlatent_avg", [self.synthesis.dlatents_shape[2]], "zeros")
        self.truncation = layers.Truncation(cutoff_none_is_all=self.CUTOFF_NONE_IS_ALL, data_format=self.data_format,
                                            name="Truncation")
        self.built = True

    def make_components(self, component_kwargs, synthesis, mapping):
        raise NotImplementedError

    @property
    def num_layers(self):
        return self.synthesis.dlatents_shape[1]

    @property
    def components(self):
        return {"synthesis": self.synthesis, "mapping": self.mapping}

    @property
    def input_shapes(self):
        return self.mapping.input_shapes

    @property
    def official_output_shape(self):
        return self.synthesis.official_output_shape

    def run_settings(self, truncation_psi, truncation_cutoff, truncation_psi_val, truncation_cutoff_val,
                     dlatent_avg_beta, style_mixing_prob, is_training, is_validation):
        """`(psi, cutoff, beta, mixing_prob)` of a call (arguments `UNSET`: the network's static values), official
        semantics: validation uses the `_val` truncation; training disables truncation and enables the
        `dlatent_avg` update and style mixing; psi None or 1, or a cutoff <= 0, disables truncation (psi None),
        and so does a cutoff of None unless `CUTOFF_NONE_IS_ALL`; beta 1 and a mixing probability <= 0 disable
        theirs (None)."""
        r = self._resolve
        psi, cutoff = r("truncation_psi", truncation_psi), r("truncation_cutoff", truncation_cutoff)
        is_training, is_validation = r("is_training", is_training), r("is_validation", is_validation)
        beta, mixing_prob = r("dlatent_avg_beta", dlatent_avg_beta), r("style_mixing_prob", style_mixing_prob)
        if is_training and is_validation:
            raise InputError("is_training and is_validation cannot both be set")
        if is_validation:
            psi, cutoff = r("truncation_psi_val", truncation_psi_val), r("truncation_cutoff_val", truncation_cutoff_val)
        if (is_training or _is(psi, lambda v: v == 1) or _is(cutoff, lambda v: v <= 0)
                or (cutoff is None and not self.CUTOFF_NONE_IS_ALL)):
            psi = None
        if not is_training or _is(beta, lambda v: v == 1):
            beta = None
        if not is_training or _is(mixing_prob, lambda v: v <= 0):
            mixing_prob = None
        return psi, cutoff, beta, mixing_prob

    def call_lod(self, lod):
        """The `lod` of a call (default: the `lod` variable), copied into a synthesis network that has one, as
        official."""
        lod = tf.convert_to_tensor(self.lod) if lod is None else lod
        if getattr(self.synthesis, "lod", None) is not None:
            self.synthesis.lod.assign(tf.cast(lod, tf.float32))
        return lod

    def map_latents(self, latents_in, labels_in, lod, psi, cutoff, beta, mixing_prob, style_mixing_draws=None,
                    rng=None):
        """dlatents `[N, num_layers, D]` float32 of `latents_in` and `labels_in` with `run_settings`' settings:
        the `dlatent_avg` update (from the unmixed dlatents), style mixing over the layers of the current `lod`,
        truncation."""
        dlatents = tf.cast(self.mapping(latents_in, labels_in), tf.float32)
        if beta is not None:
            batch_avg = tf.reduce_mean(dlatents[:, 0], axis=0)
            self.dlatent_avg.assign(ops.lerp(batch_avg, tf.convert_to_tensor(self.dlatent_avg), beta))
        if mixing_prob is not None:
            cur_layers = self.num_layers - tf.cast(lod, tf.int32) * 2
            dlatents = style_mix(self.mapping, dlatents, latents_in, labels_in, cur_layers, mixing_prob,
                                 style_mixing_draws, rng)
        if psi is not None:
            dlatents = self.truncation(dlatents, self.dlatent_avg, psi=psi, cutoff=cutoff)
        return dlatents
