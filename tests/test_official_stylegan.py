"""Every case of ``../shared/fixtures/official_stylegan`` reproduced through the public API
(``dnnlib.tflib.Network.get_output_for`` and ``training.loss``), in NHWC (eager, the
'recursive' graph) and NCHW (under ``jit_compile=True``, where ``lod`` is symbolic and the
'linear' graph runs)."""
import numpy as np
import pytest

import dnnlib.tflib as tflib
from conftest import FIXTURES_DIR
from official_cases import CaseFile, case_names, network_sets, run_case

CASE_NAMES = case_names(FIXTURES_DIR / "official_stylegan")


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    return CaseFile(fixtures_dir / "official_stylegan")


@pytest.fixture(scope="module", name="network_sets")
def network_sets_fixture(fixture):
    """Per layout: the (G, D, Gs) Networks, reset to their pickled values for each case."""
    return network_sets(fixture)


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_official_case(fixture, network_sets, case_name, data_format):
    case = fixture.cases[case_name]
    outputs = run_case(case, fixture.inputs(case), network_sets(data_format), data_format)
    checked = fixture.check(case, outputs)
    assert sorted(checked) == sorted(o["name"] for o in case["outputs"])


def test_plain_pickle_load_gives_networks_matching_the_fixture(fixture):
    """The official user-script idiom: ``pickle.load`` after ``import dnnlib``, then ``Gs.run``."""
    import pickle

    import dnnlib

    with dnnlib.util.open_url(str(fixture.pickle)) as f:
        _G, _D, Gs = pickle.load(f)  # noqa: N806
    case = fixture.cases["Gs_psi0.7_cutoff8"]
    inputs = fixture.inputs(case)
    images = Gs.run(inputs["latents_in"], None, truncation_psi=0.7, randomize_noise=False)
    fixture.check(case, {"images_out": images})
    uint8 = Gs.run(inputs["latents_in"], None, truncation_psi=0.7, randomize_noise=False,
                   output_transform=dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True))
    ref = np.clip(np.transpose(fixture.npz[case["outputs"][0]["key"]], [0, 2, 3, 1]) * 127.5 + 128, 0, 255)
    assert uint8.dtype == np.uint8 and uint8.shape == (4, 32, 32, 3)
    assert np.max(np.abs(uint8.astype(np.float64) - np.floor(ref))) <= 1
    two_step = Gs.components.synthesis.run(Gs.components.mapping.run(inputs["latents_in"], None),
                                           randomize_noise=False)
    fixture.check(fixture.cases["Gs_psi1"], {"images_out": two_step})
