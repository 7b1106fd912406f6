"""The official-compatible facade: EasyDict, open_url, init_tf, convert_images_to_uint8, Network."""
import functools
import http.server
import pickle
import threading

import numpy as np
import pytest
import tensorflow as tf

import dnnlib
import dnnlib.tflib as tflib
from official_cases import CaseFile, network_sets, run_case

SMALL = dict(resolution=16, num_channels=3, latent_size=8, dlatent_size=8, mapping_fmaps=8, mapping_layers=2,
             fmap_base=32, fmap_max=8)


def test_easydict():
    d = dnnlib.EasyDict(a=1)
    d.b = 2
    assert d == {"a": 1, "b": 2} and d.a == 1
    del d.a
    with pytest.raises(AttributeError):
        _ = d.a


@pytest.fixture()
def http_server(tmp_path):
    """A loopback HTTP server over ``tmp_path/www``; yields (base_url, root, stop)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root, server.shutdown
    server.shutdown()


def test_open_url_local_paths(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01")
    for url in (str(path), path.as_uri()):
        with dnnlib.util.open_url(url) as f:
            assert f.read() == b"\x00\x01"
    with pytest.raises(FileNotFoundError):
        dnnlib.util.open_url(str(tmp_path / "missing.pkl"))


def test_open_url_downloads_once_then_uses_the_cache(http_server, tmp_path):
    base, root, stop = http_server
    (root / "net.pkl").write_bytes(b"\x80\x04payload")
    cache = tmp_path / "cache"
    assert dnnlib.util.open_url(f"{base}/net.pkl", cache_dir=str(cache), verbose=False).read() == b"\x80\x04payload"
    stop()  # the server is gone: the second open must come from the cache
    with dnnlib.util.open_url(f"{base}/net.pkl", cache_dir=str(cache), verbose=False) as f:
        assert f.read() == b"\x80\x04payload"


def test_open_url_refuses_an_html_page(http_server, tmp_path):
    base, root, _ = http_server
    (root / "quota.pkl").write_text("<!DOCTYPE html><html><body>Quota exceeded</body></html>")
    with pytest.raises(OSError, match="HTML page"):
        dnnlib.util.open_url(f"{base}/quota.pkl", cache_dir=str(tmp_path / "cache"), verbose=False)
    assert not list((tmp_path / "cache").glob("*quota*")) if (tmp_path / "cache").exists() else True
    with pytest.raises(OSError, match="HTTP 404"):
        dnnlib.util.open_url(f"{base}/missing.pkl", cache_dir=str(tmp_path / "cache"), verbose=False)


def test_convert_images_to_uint8_closed_form():
    x = np.array([-1.5, -1.0, -0.5, 0.0, 0.999, 1.0, 2.0], np.float32).reshape(1, 1, 1, 7)
    got = tflib.convert_images_to_uint8(x).numpy().ravel()
    expected = np.clip(np.floor(x.ravel() * 127.5 + 128.0), 0, 255)
    np.testing.assert_array_equal(got, expected)
    img = np.random.RandomState(0).uniform(-1, 1, [2, 3, 4, 6]).astype(np.float32)
    assert tflib.convert_images_to_uint8(img, nchw_to_nhwc=True).shape == (2, 4, 6, 3)
    assert tflib.convert_images_to_uint8(img, drange=[0, 1], shrink=2).shape == (2, 3, 2, 3)


def test_init_tf_seeds_numpy_and_tensorflow():
    tflib.init_tf({"rnd.np_random_seed": 5})
    a = (np.random.rand(), tf.random.uniform([]).numpy())
    tflib.init_tf({"rnd.np_random_seed": 5})
    assert (np.random.rand(), tf.random.uniform([]).numpy()) == a


@pytest.fixture(scope="module")
def G():  # noqa: N802
    net = tflib.Network("G", func_name="training.networks_stylegan.G_style", data_format="NHWC", **SMALL)
    rng = np.random.RandomState(0)
    net.set_vars({n: rng.randn(*v.shape) * 0.5 for n, v in net.vars.items() if not n.endswith("lod")})
    return net


def test_network_properties(G):  # noqa: N803
    assert G.input_shapes == [[None, 8], [None, 0]] and G.output_shape == [None, 3, 16, 16]
    assert G.input_names == ["latents_in", "labels_in"] and G.output_names == ["images_out"]
    assert set(G.components) == {"synthesis", "mapping"}
    assert G.components.synthesis.input_shape == [None, 6, 8]
    assert list(G.vars)[:3] == ["lod", "dlatent_avg", "G_synthesis/lod"]
    assert "G_mapping/Dense1/weight" in G.trainables and "G_synthesis/noise0" not in G.trainables
    assert G.static_kwargs.resolution == 16


def test_run_batches_like_one_call_and_fills_missing_labels(G):  # noqa: N803
    latents = np.random.RandomState(1).randn(7, 8)
    whole = G.run(latents, None, randomize_noise=False)
    batched = G.run(latents, np.zeros([7, 0]), randomize_noise=False, minibatch_size=3)
    np.testing.assert_allclose(whole, batched, rtol=1e-5, atol=1e-5)
    direct = G.get_output_for(tf.constant(latents, tf.float32), None, randomize_noise=False)
    np.testing.assert_allclose(whole, direct.numpy(), rtol=1e-5, atol=1e-5)
    mapped = G.components.mapping.run(latents, None)
    assert mapped.shape == (7, 6, 8)


def test_component_variables_are_shared_and_prefixed(G):  # noqa: N803
    synthesis = G.components.synthesis
    dlatents = np.random.RandomState(2).randn(2, 6, 8)
    G.set_var("G_synthesis/lod", 0.0)
    full = synthesis.run(dlatents, randomize_noise=False)
    G.set_var("G_synthesis/lod", 2.0)
    assert synthesis.get_var("lod") == 2.0
    coarse = synthesis.run(dlatents, randomize_noise=False)
    G.set_var("G_synthesis/lod", 0.0)
    assert np.abs(full - coarse).max() > 1e-3
    np.testing.assert_allclose(coarse[:, :, ::4, ::4].repeat(4, 2).repeat(4, 3), coarse, atol=1e-6)


def test_dynamic_kwargs(G):  # noqa: N803
    latents = np.random.RandomState(3).randn(2, 8)
    a = G.run(latents, None, truncation_psi=0.5, randomize_noise=False, fused_scale=True, is_validation=False)
    b = G.run(latents, None, truncation_psi=1.0, randomize_noise=False)
    assert np.abs(a - b).max() > 1e-3
    G.run(latents, None, resolution=16, something_official_ignores=1)  # unknown keywords: ignored, as official
    with pytest.raises(ValueError, match="different variables"):
        G.run(latents, None, fmap_max=4)


def test_run_time_overrides_rebuild_the_network_on_its_variables(G):  # noqa: N803
    """Official: a static keyword argument given at run time applies when it needs no other
    variables. The result equals a network built with it and given the same values, and follows
    later changes of those values (the variables are shared, not copied)."""
    latents = np.random.RandomState(6).randn(3, 8)
    default = G.run(latents, None, randomize_noise=False)
    for overrides in (dict(nonlinearity="relu"), dict(blur_filter=None), dict(use_instance_norm=False)):
        built = tflib.Network("G", func_name="training.networks_stylegan.G_style", data_format="NHWC", **SMALL,
                              **overrides)
        built.copy_vars_from(G)
        got = G.run(latents, None, randomize_noise=False, **overrides)
        np.testing.assert_array_equal(got, built.run(latents, None, randomize_noise=False))
        assert np.abs(got - default).max() > 1e-3
    traced = tf.function(lambda: G.get_output_for(tf.constant(latents, tf.float32), None, randomize_noise=False,
                                                  use_pixel_norm=True))()  # the rebuild happens outside the graph
    np.testing.assert_allclose(traced.numpy(), G.run(latents, None, randomize_noise=False, use_pixel_norm=True),
                               rtol=1e-5, atol=1e-5)
    bias = G.get_var("G_synthesis/4x4/Conv/bias")
    relu = G.run(latents, None, randomize_noise=False, nonlinearity="relu")
    G.set_var("G_synthesis/4x4/Conv/bias", bias + 1)
    changed = G.run(latents, None, randomize_noise=False, nonlinearity="relu")
    G.set_var("G_synthesis/4x4/Conv/bias", bias)
    assert np.abs(changed - relu).max() > 1e-3


def test_overrides_needing_other_variables_are_refused():
    small_d = dict(func_name="training.networks_stylegan.D_basic", data_format="NHWC", resolution=16, num_channels=3,
                   fmap_base=32, fmap_max=8)
    D = tflib.Network("D", **small_d)  # noqa: N806
    rng = np.random.RandomState(7)
    D.set_vars({n: rng.randn(*v.shape) * 0.5 for n, v in D.vars.items() if not n.endswith("lod")})
    images = rng.randn(4, 3, 16, 16)
    built = tflib.Network("D", mbstd_group_size=2, **small_d)
    built.copy_vars_from(D)
    np.testing.assert_array_equal(D.run(images, None, mbstd_group_size=2), built.run(images, None))
    with pytest.raises(ValueError, match=r"mbstd_group_size=1 differs from the network's mbstd_group_size=4 and "
                                         r"would need different variables \(.*'4x4/Conv/weight' of shape"):
        D.run(images, None, mbstd_group_size=1)
    with pytest.raises(ValueError, match="resolution=8 differs .* would need different variables"):
        D.run(images, None, resolution=8)


def test_float64_activations(G):  # noqa: N803
    """Official ``dtype='float64'``: float64 outputs that agree with float32 to float32 rounding."""
    latents = np.random.RandomState(8).randn(3, 8)
    single = G.run(latents, None, randomize_noise=False)
    double = G.run(latents, None, randomize_noise=False, dtype="float64")
    assert double.dtype == np.float64
    np.testing.assert_allclose(double, single, rtol=0, atol=1e-5 * np.abs(single).max())


def test_float64_activations_reproduce_the_official_fixture(fixtures_dir):
    """Every mapping, synthesis and D case of the StyleGAN fixture, with ``dtype='float64'`` added,
    within the case's tolerance (whose noise floor includes the official float64 runs)."""
    fixture = CaseFile(fixtures_dir / "official_stylegan")
    nets = network_sets(fixture)
    cases = [case for case in fixture.cases.values() if case["call"] == "get_output_for"
             and case["network"] in ("G.mapping", "Gs.mapping", "G.synthesis", "Gs.synthesis", "D")]
    assert len(cases) == 22
    for case in cases:
        outputs = run_case(dict(case, kwargs={**case["kwargs"], "dtype": "float64"}), fixture.inputs(case),
                           nets("NHWC"), "NHWC")
        assert all(value.dtype == np.float64 for value in outputs.values())
        fixture.check(case, outputs)


def test_output_transform_and_clone(G):  # noqa: N803
    latents = np.random.RandomState(4).randn(3, 8)
    uint8 = G.run(latents, None, randomize_noise=False,
                  output_transform=dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True))
    assert uint8.dtype == np.uint8 and uint8.shape == (3, 16, 16, 3)
    clone = G.clone("G2")
    assert clone.name == "G2"
    np.testing.assert_allclose(clone.run(latents, None, randomize_noise=False),
                               G.run(latents, None, randomize_noise=False), atol=1e-5)
    clone.set_var("G_synthesis/4x4/Conv/bias", np.zeros(8))
    assert np.abs(G.get_var("G_synthesis/4x4/Conv/bias")).max() > 0
    clone.copy_vars_from(G)
    np.testing.assert_array_equal(clone.get_var("G_synthesis/4x4/Conv/bias"), G.get_var("G_synthesis/4x4/Conv/bias"))


def test_pickle_round_trip_of_network_objects(G):  # noqa: N803
    G2 = pickle.loads(pickle.dumps(G))  # noqa: N806
    assert isinstance(G2, tflib.Network) and list(G2.vars) == list(G.vars)
    latents = np.random.RandomState(5).randn(2, 8)
    np.testing.assert_allclose(G2.run(latents, None, randomize_noise=False),
                               G.run(latents, None, randomize_noise=False), atol=1e-5)


def test_unknown_build_function():
    with pytest.raises(ValueError, match="unknown build function"):
        tflib.Network("X", func_name="training.networks.G_mystery")


def test_format_time_is_the_official_compact_form():
    assert [dnnlib.util.format_time(s) for s in (12, 184, 7509, 93780)] == ["12s", "3m 04s", "2h 05m 09s",
                                                                             "1d 02h 03m"]
