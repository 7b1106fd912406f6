"""Tests of exporting (stylegan_tf/export.py, the stylegan-export tool: SavedModel, .keras) and converting
(stylegan_tf/checkpoints.py, the stylegan-convert tool: checkpoints)."""
import json
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from cli import convert
from cli import export as export_cli
from stylegan_tf import export, network_files, sampling
from stylegan_tf.official import read_pickle
from stylegan_tf.seeds import latents_from_seeds

SEEDS = [0, 1, 42]


@pytest.fixture(scope="module")
def pkl(fixtures_dir):
    return str(fixtures_dir / "official_stylegan" / "network-snapshot.pkl")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, pkl):
    """The fixture network exported with the CLI: ``(saved model dir, .keras file)``."""
    out = tmp_path_factory.mktemp("export")
    keras_file = out / "Gs.keras"
    assert run_cli(export_cli, f"--network={pkl}", f"--out={out / 'saved_model'}", f"--keras_file={keras_file}") == 0
    return out / "saved_model", keras_file


def run_cli(module, *args):
    with pytest.raises(SystemExit) as exit_info:
        module.run_main(["tool", *args])
    return exit_info.value.code or 0


def test_saved_model_without_our_package(exported, tmp_path, pkl):
    """A fresh process that never imports stylegan_tf gets the images of our generator."""
    latents = latents_from_seeds(SEEDS, 64)
    np.save(tmp_path / "latents.npy", latents)
    script = textwrap.dedent(f"""
        import sys
        for name in ("stylegan_tf", "dnnlib", "training", "cli"):
            sys.modules[name] = None  # any import of our packages fails
        import numpy as np
        import tensorflow as tf
        m = tf.saved_model.load({str(exported[0])!r})
        z = np.load({str(tmp_path / 'latents.npy')!r})
        labels = np.zeros([len(z), 0], np.float32)
        out = dict(
            const=m.signatures["generate"](latents=z, labels=labels, truncation_psi=tf.constant(0.7),
                                           truncation_cutoff=tf.constant(8),
                                           randomize_noise=tf.constant(False))["images"],
            psi1=m.generate(z, labels, 1.0, 8, False)["images"],
            random=m.generate(z, labels, 0.7, 8, True)["images"],
            dlatents=m.mapping(z, labels)["dlatents"])
        out["synth"] = m.synthesis(out["dlatents"], False)["images"]
        np.savez({str(tmp_path / 'out.npz')!r}, **{{k: v.numpy() for k, v in out.items()}})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, timeout=300)
    out = np.load(tmp_path / "out.npz")

    sampler = sampling.Sampler(network_files.load_Gs(pkl), batch_size=4)
    assert out["const"].dtype == np.uint8 and out["const"].shape == (3, 32, 32, 3)
    for key, psi in [("const", 0.7), ("psi1", 1.0)]:
        assert np.abs(out[key].astype(int) - sampler.images_for_seeds(SEEDS, psi, 8)).max() <= 1
    assert np.abs(out["synth"].astype(int) - sampler.images_for_seeds(SEEDS, None, None)).max() <= 1
    np.testing.assert_allclose(out["dlatents"], sampler.dlatents(latents_from_seeds(SEEDS, 64)), atol=1e-4)
    assert not np.array_equal(out["random"], out["const"])


def test_saved_model_from_an_nchw_network(tmp_path, pkl):
    """Exporting a network built in NCHW still gives a model that runs on this CPU."""
    Gs = network_files.load_Gs(pkl, data_format="NCHW")  # noqa: N806
    export.export_saved_model(Gs, tmp_path)
    m = tf.saved_model.load(str(tmp_path))
    images = m.generate(latents_from_seeds(SEEDS, 64), np.zeros([3, 0], np.float32), 0.7, 8, False)["images"]
    expected = sampling.Sampler(network_files.load_Gs(pkl, data_format="NHWC")).images_for_seeds(SEEDS, 0.7, 8)
    assert np.abs(images.numpy().astype(int) - expected).max() <= 1


def test_keras_file(exported, pkl):
    model = keras.saving.load_model(exported[1])
    latents = latents_from_seeds(SEEDS, 64)
    expected = network_files.load_Gs(pkl)(latents, None, truncation_psi=0.7, randomize_noise=False)
    np.testing.assert_array_equal(model(latents, None, truncation_psi=0.7, randomize_noise=False), expected)


def test_saved_model_tells_its_sizes_and_names_a_wrong_shape(exported):
    """The README example reads the latent size from the model; a wrong shape fails with one readable line naming
    the expected shape, not a binding TypeError."""
    m = tf.saved_model.load(str(exported[0]))
    sizes = {key: int(value) for key, value in m.sizes().items()}
    assert sizes == dict(latent_size=64, label_size=0, dlatent_size=64, num_layers=8, resolution=32, num_channels=3)
    z = latents_from_seeds([1], sizes["latent_size"])
    labels = np.zeros([1, sizes["label_size"]], np.float32)
    assert m.generate(z, labels, 0.7, 8, False)["images"].shape == (1, 32, 32, 3)
    for call, message in [
            (lambda: m.generate(np.zeros([1, 512], np.float32), labels, 0.7, 8, False),
             r"latents must be \[N, 64\] float32, got shape\] \[1 512\]"),
            (lambda: m.generate(z[0], labels, 0.7, 8, False), r"latents must be \[N, 64\] float32, got shape\] \[64\]"),
            (lambda: m.mapping(z, np.zeros([2, 0], np.float32)), r"labels must be \[N, 0\] float32 \(N: the number "
                                                                 r"of latents\), got shape\] \[2 0\]"),
            (lambda: m.synthesis(np.zeros([1, 7, 64], np.float32), False),
             r"dlatents must be \[N, 8, 64\] float32, got shape\] \[1 7 64\]"),
            (lambda: m.generate(z, labels, float("nan"), 8, False), "truncation_psi must be a finite number")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call()


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_export_refuses_what_it_cannot_or_must_not_write(tmp_path, capsys, pkl):
    """--out a file, a path below a file, a foreign non-empty directory (with and without --overwrite), an
    existing SavedModel without --overwrite, --keras_file a directory: one line each, nothing written or changed."""
    (tmp_path / "file").write_bytes(b"data")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    (tmp_path / "model" / "variables").mkdir(parents=True)
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"old")
    (tmp_path / "Gs.keras").mkdir()
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for args, message in [
            (["--out={tmp}/file"], "SavedModel directory {tmp}/file is a file, not a directory"),
            (["--out={tmp}/file/sm"], "SavedModel directory {tmp}/file/sm: {tmp}/file is a file, not a directory"),
            (["--out={tmp}/foreign"], "{tmp}/foreign already exists; pass --overwrite to replace it"),
            (["--out={tmp}/foreign", "--overwrite"], "{tmp}/foreign exists and is not a SavedModel written by this "
                                                     "tool; refusing to replace it"),
            (["--out={tmp}/model"], "{tmp}/model already exists; pass --overwrite"),
            (["--out={tmp}/sm", "--keras_file={tmp}/Gs.keras"], "{tmp}/Gs.keras is a directory")]:
        args = [a.format(tmp=tmp_path) for a in args]
        assert run_cli(export_cli, f"--network={pkl}", *args) == 2, args
        assert message.format(tmp=tmp_path) in _one_error_line(capsys), args
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"


def test_export_overwrite_replaces_a_saved_model_instead_of_merging(exported, tmp_path, pkl):
    target = tmp_path / "saved_model"
    shutil.copytree(exported[0], target)
    (target / "stale.txt").write_text("left from an older export")
    assert run_cli(export_cli, f"--network={pkl}", f"--out={target}", "--overwrite") == 0
    assert not (target / "stale.txt").exists() and export.is_saved_model(target)
    assert [p.name for p in tmp_path.iterdir()] == ["saved_model"]  # no temporary directory left


def _assert_same_pickles(a, b):
    for x, y in zip(read_pickle(a), read_pickle(b)):
        _assert_same_states(x.state, y.state)


def _assert_same_states(x, y):
    for key in ("name", "build_func_name", "static_kwargs"):
        assert x[key] == y[key]
    assert [n for n, _ in x["variables"]] == [n for n, _ in y["variables"]]
    for (name, u), (_, v) in zip(x["variables"], y["variables"]):
        assert np.asarray(u).dtype == np.asarray(v).dtype and np.array_equal(u, v), name
    assert list(x["components"]) == list(y["components"])
    for key in x["components"]:
        _assert_same_states(x["components"][key].state, y["components"][key].state)


def test_convert_round_trip(tmp_path, capsys, pkl):
    assert run_cli(convert, f"--network={pkl}", f"--out={tmp_path / 'ckpt'}") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  Gs/G_synthesis/4x4/Conv/weight [3, 3, 64, 64]" in lines and lines[-1].startswith("mapped 177 ")
    keys = dict(tf.train.list_variables(str(tmp_path / "ckpt" / "networks")))
    assert keys["Gs/G_synthesis/4x4/Conv/weight/.ATTRIBUTES/VARIABLE_VALUE"] == [3, 3, 64, 64]
    assert len(keys) == 177 + 1  # + the object graph
    config = json.loads((tmp_path / "ckpt" / "networks.json").read_text())
    assert config["Gs"]["components"]["synthesis"]["build_func_name"] == "G_synthesis"

    assert run_cli(convert, f"--checkpoint={tmp_path / 'ckpt'}", f"--out={tmp_path / 'back.pkl'}") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("mapped 177 ")
    _assert_same_pickles(pkl, tmp_path / "back.pkl")


def test_convert_refuses_to_merge_into_an_existing_directory(tmp_path, capsys, pkl):
    ckpt = tmp_path / "ckpt"
    assert run_cli(convert, f"--network={pkl}", f"--out={ckpt}") == 0
    (ckpt / "stale.txt").write_text("left from an older conversion")
    capsys.readouterr()
    assert run_cli(convert, f"--network={pkl}", f"--out={ckpt}") == 2
    assert f"{ckpt} already exists; pass --overwrite" in _one_error_line(capsys)
    assert run_cli(convert, f"--network={pkl}", f"--out={ckpt}", "--overwrite") == 0
    assert not (ckpt / "stale.txt").exists() and (ckpt / "networks.index").exists()
    run_checkpoints = tmp_path / "run" / "checkpoints"  # a training run's: not written by stylegan-convert
    run_checkpoints.mkdir(parents=True)
    (run_checkpoints / "networks.json").write_text("{}")
    capsys.readouterr()
    assert run_cli(convert, f"--network={pkl}", f"--out={run_checkpoints}", "--overwrite") == 2
    assert "is not a checkpoint directory written by this tool" in _one_error_line(capsys)
    assert [p.name for p in run_checkpoints.iterdir()] == ["networks.json"]


@pytest.mark.parametrize("tool, args, message", [
    (export_cli, ["--network={tmp}/model.h5", "--out={tmp}/sm"], "unknown network file type"),
    (export_cli, ["--network={pkl}"], "are required"),
    (export_cli, ["--network={pkl}", "--out={tmp}/sm", "--keras_file={tmp}/Gs.h5"], "must end in .keras"),
    (convert, ["--network={pkl}", "--checkpoint={tmp}", "--out={tmp}/x"], "exactly one of"),
    (convert, ["--checkpoint={tmp}", "--out={tmp}/x.pkl"], "not a checkpoint directory"),
    (convert, ["--checkpoint={tmp}", "--out={tmp}/x.h5"], "must be a .pkl"),
    (convert, ["--network={tmp}/model.h5", "--out={tmp}/ckpt"], "unknown network file type"),
])
def test_bad_input(tmp_path, capsys, pkl, tool, args, message):
    (tmp_path / "model.h5").write_bytes(b"")
    assert run_cli(tool, *[a.format(tmp=tmp_path, pkl=pkl) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


@pytest.mark.parametrize("damage, message", [
    ("config", "cannot restore the networks"),  # networks.json describes other networks than the checkpoint holds
    ("data", "cannot restore the networks"),  # the checkpoint's data file is truncated
    ("missing", "no checkpoint beside it"),
])
def test_damaged_checkpoint_gives_one_clear_line(tmp_path, capsys, pkl, damage, message):
    ckpt = tmp_path / "ckpt"
    assert run_cli(convert, f"--network={pkl}", f"--out={ckpt}") == 0
    if damage == "config":
        config = json.loads((ckpt / "networks.json").read_text())
        config["D"]["static_kwargs"]["fmap_max"] //= 2
        (ckpt / "networks.json").write_text(json.dumps(config))
    elif damage == "data":
        data = next(ckpt.glob("networks.data-*"))
        data.write_bytes(data.read_bytes()[:1000])
    else:
        for path in [*ckpt.glob("networks.data-*"), ckpt / "networks.index"]:
            path.unlink()
    capsys.readouterr()
    assert run_cli(convert, f"--checkpoint={ckpt}", f"--out={tmp_path / 'x.pkl'}") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (tmp_path / "x.pkl").exists()
