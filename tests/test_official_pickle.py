"""Official-format pickles: round trip, the exact set of globals written, and bad input."""
import io
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from stylegan_tf import official, restricted_pickle

OFFICIAL_GLOBALS = {"dnnlib.tflib.network Network", "numpy.core.multiarray _reconstruct", "numpy ndarray",
                    "numpy dtype", "numpy.core.multiarray scalar"}


@pytest.fixture(scope="module")
def fixture_pickle(fixtures_dir):
    return fixtures_dir / "official_stylegan" / "network-snapshot.pkl"


@pytest.fixture(scope="module")
def networks(fixture_pickle):
    return stylegan_tf.load_network_pkl(fixture_pickle, data_format="NHWC")


def _globals(data):
    """The globals a pickle asks for, recorded by a restricted unpickler."""
    found = set()

    class Recorder(restricted_pickle.RestrictedUnpickler):
        def find_class(self, module, name):
            found.add(f"{module} {name}")
            return super().find_class(module, name)

    Recorder(io.BytesIO(data), allowed={("dnnlib.tflib.network", "Network"): official.NetworkState},
             encoding="latin1").load()
    return found


def test_round_trip_is_bit_exact_and_uses_only_official_globals(networks, fixture_pickle, tmp_path):
    path = tmp_path / "snapshot.pkl"
    stylegan_tf.save_network_pkl(networks, path)
    data = path.read_bytes()
    assert _globals(data) == OFFICIAL_GLOBALS == _globals(fixture_pickle.read_bytes())
    original, reread = official.read_pickle(fixture_pickle), official.read_pickle(path)
    for a, b in zip(original, reread):
        assert a.state["name"] == b.state["name"] and a.state["static_kwargs"] == b.state["static_kwargs"]
        assert [n for n, _ in a.state["variables"]] == [n for n, _ in b.state["variables"]]
        assert list(a.state["components"]) == list(b.state["components"])
    loaded = stylegan_tf.load_network_pkl(path, data_format="NHWC")
    for net, again in zip(networks, loaded):
        for (name, v1), (name2, v2) in zip(net.all_official_variables(), again.all_official_variables()):
            assert name == name2
            np.testing.assert_array_equal(v1.numpy(), v2.numpy())
    z = tf.constant(np.random.RandomState(0).randn(2, 64).astype(np.float32))
    np.testing.assert_array_equal(networks[2](z, randomize_noise=False).numpy(),
                                  loaded[2](z, randomize_noise=False).numpy())


def test_state_matches_the_official_layout(networks, fixture_pickle):
    """Our state of the fixture networks equals the pickled one value for value, in order."""
    for ours, theirs in zip(networks, official.read_pickle(fixture_pickle)):
        state = official.network_state(ours)
        assert state["build_func_name"] == theirs.state["build_func_name"]
        assert [(n, np.shape(v)) for n, v in state["variables"]] == \
               [(n, np.shape(v)) for n, v in theirs.state["variables"]]
        for (_, a), (_, b) in zip(state["variables"], theirs.state["variables"]):
            np.testing.assert_array_equal(a, b)


def _rewrite(fixture_pickle, tmp_path, edit):
    """The fixture pickle with its G state edited by ``edit(state)``."""
    nets = official.read_pickle(fixture_pickle)
    edit(nets[0].state)
    path = tmp_path / "edited.pkl"
    path.write_bytes(official.dumps_networks(nets))
    return path


def _one_line_error(path, match):
    with pytest.raises(stylegan_tf.NetworkPickleError, match=match) as info:
        stylegan_tf.load_network_pkl(path, data_format="NHWC")
    assert "\n" not in str(info.value)
    return str(info.value)


def test_foreign_global_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps((Exploit(), 1, 2)))
    message = _one_line_error(path, "refusing")
    assert "system" in message and not marker.exists()


def test_truncated_file(fixture_pickle, tmp_path):
    path = tmp_path / "truncated.pkl"
    path.write_bytes(fixture_pickle.read_bytes()[: 1 << 20])
    _one_line_error(path, "ends early")


def test_not_a_pickle(tmp_path):
    path = tmp_path / "notes.pkl"
    path.write_text("these are not the weights you are looking for\n")
    _one_line_error(path, "not a valid network pickle")


def test_missing_file(tmp_path):
    _one_line_error(tmp_path / "nope.pkl", "no such file")


def test_wrong_variable_shape(fixture_pickle, tmp_path):
    def edit(state):
        state["variables"] = [(n, np.zeros([3]) if n == "dlatent_avg" else v) for n, v in state["variables"]]

    message = _one_line_error(_rewrite(fixture_pickle, tmp_path, edit), "'dlatent_avg' has shape")
    assert "[3]" in message and "[64]" in message


def test_missing_variable(fixture_pickle, tmp_path):
    def edit(state):
        syn = state["components"]["synthesis"].state
        syn["variables"] = [(n, v) for n, v in syn["variables"] if n != "8x8/Conv1/weight"]

    _one_line_error(_rewrite(fixture_pickle, tmp_path, edit), "missing from the pickle: 8x8/Conv1/weight")


def test_extra_variable(fixture_pickle, tmp_path):
    def edit(state):
        state["variables"] = state["variables"] + [("mystery/weight", np.zeros([2], np.float32))]

    _one_line_error(_rewrite(fixture_pickle, tmp_path, edit), "unexpected variable.*mystery/weight")


def test_unknown_build_func_name(fixture_pickle, tmp_path):
    def edit(state):
        state["build_func_name"] = "G_mystery"

    _one_line_error(_rewrite(fixture_pickle, tmp_path, edit), "unknown build_func_name 'G_mystery'")


def test_not_a_snapshot_tuple(tmp_path):
    path = tmp_path / "single.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    _one_line_error(path, r"expected a network snapshot \(G, D, Gs\)")
