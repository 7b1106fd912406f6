"""Official variable scopes for Keras layers and networks: official names, creation order, reuse.

An ``OfficialScope`` (a Keras layer or network) stands for one official ``tf.variable_scope``,
named like it (``G_synthesis``, ``8x8``, ``Conv0_up``, ``Noise`` ...). It creates its own variables
under their official names (``add_official_weight``: ``weight``, ``bias``, ``lod`` ...) and builds
its child scopes (``build_child``), both recorded in creation order, so that
``official_variables()`` lists ``[(name, variable)]`` as the official code created them, names
relative to this scope (``'8x8/Conv0_up/Noise/weight'``): walking the layers is walking the
official variable tree.

Inside ``reusing_variables(named_variables)`` nothing is created: each variable is taken from
``named_variables`` by its official name, with its shape checked. This is how the official code
builds a network again with other keyword arguments on the same variables (``tf.variable_scope``
reuse), e.g. the run-time override ``nonlinearity='relu'``; see ``OfficialNetwork.variant``.
"""
import contextlib
import contextvars

from stylegan_tf.errors import InputError

_REUSED = contextvars.ContextVar("stylegan_tf_reused_variables", default=None)


class VariableMismatchError(InputError):
    """A network built under ``reusing_variables`` needs a variable that is not given, or that is
    given with another shape; the message names it."""


@contextlib.contextmanager
def reusing_variables(named_variables):
    """Within the context, scopes take their variables from ``named_variables`` (``{official name
    relative to the network being built: variable}``) instead of creating them."""
    token = _REUSED.set(dict(named_variables))
    try:
        yield
    finally:
        _REUSED.reset(token)


class OfficialScope:
    """Mixin of ``keras.layers.Layer`` / ``keras.Model`` subclasses: one official variable scope.

    The class using it sets ``self._official = []`` in ``__init__``; it then holds ``(name,
    variable)`` pairs and child scopes in creation order. ``_scope_path`` is the scope's path inside
    its network (``'8x8/Conv0_up/'``), set by the parent that builds it; '' for a network or a
    layer used on its own.
    """

    _scope_path = ""

    def add_official_weight(self, name, shape, initializer, trainable=True, aggregation="none"):
        """A float32 variable named ``name`` in this scope (read without autocasting), or, under
        ``reusing_variables``, the given variable of that official name and shape."""
        shape = tuple(int(s) for s in shape)
        reused = _REUSED.get()
        if reused is None:
            var = self.add_weight(name=name, shape=shape, initializer=initializer, trainable=trainable,
                                  dtype="float32", autocast=False, aggregation=aggregation)
        else:
            path = self._scope_path + name
            if path not in reused:
                raise VariableMismatchError(f"it needs a variable '{path}' {list(shape)}, which the network lacks")
            var = reused[path]
            if tuple(var.shape) != shape:
                raise VariableMismatchError(f"it needs '{path}' of shape {list(shape)}, the network's has "
                                            f"{list(var.shape)}")
        self._official.append((name, var))
        return var

    def build_child(self, child, *build_args):
        """Build the layer ``child`` (named after its official scope) inside this scope; returns it."""
        child._scope_path = f"{self._scope_path}{child.name}/"
        child.build(*build_args)
        self._official.append(child)
        return child

    def official_variables(self):
        """``[(name, variable)]`` of this scope in official creation order, names relative to it."""
        out = []
        for item in self._official:
            if isinstance(item, OfficialScope):
                out.extend((f"{item.name}/{name}", var) for name, var in item.official_variables())
            else:
                out.append(tuple(item))
        return out
