"""The official progressive-growing schedule, checked at hand-computed points."""
import pytest

from training.schedule import training_schedule

# 32x32 dataset (log2 5), 4x4 start: lod 3 for 600 kimg, fading to 2 over the next 600, ...
LOD_POINTS = [(0, 3.0, 4), (599.9, 3.0, 4), (600, 3.0, 4), (900, 2.5, 8), (1199, 2.0 + 1 / 600, 8),
              (1200, 2.0, 8), (2100, 1.5, 16), (2400, 1.0, 16), (3000, 1.0, 16), (3300, 0.5, 32),
              (3600, 0.0, 32), (10000, 0.0, 32)]


@pytest.mark.parametrize("kimg,lod,resolution", LOD_POINTS)
def test_lod_and_resolution(kimg, lod, resolution):
    s = training_schedule(kimg * 1000, resolution_log2=5)
    assert s.kimg == pytest.approx(kimg)
    assert s.lod == pytest.approx(lod, abs=1e-9) and s.resolution == resolution


def test_initial_resolution_and_phase_lengths():
    s = training_schedule(0, resolution_log2=10, lod_initial_resolution=8)
    assert (s.lod, s.resolution) == (7.0, 8)
    s = training_schedule(150_000, resolution_log2=10, lod_initial_resolution=8, lod_training_kimg=100,
                          lod_transition_kimg=100)
    assert s.lod == pytest.approx(6.5) and s.resolution == 16
    s = training_schedule(150_000, resolution_log2=10, lod_transition_kimg=0, lod_training_kimg=100)
    assert s.lod == 7.0  # no fade: lod jumps one level per 100 kimg


def test_minibatch_dicts_and_gpus():
    kw = dict(resolution_log2=5, minibatch_base=16, minibatch_dict={4: 128, 8: 64}, num_gpus=3)
    assert training_schedule(0, **kw).minibatch == 126  # multiple of num_gpus
    assert training_schedule(0, max_minibatch_per_gpu={4: 32}, **kw).minibatch == 96
    assert training_schedule(1200_000, **kw).minibatch == 63
    assert training_schedule(2400_000, **kw).minibatch == 15


def test_learning_rates_rampup_and_ticks():
    s = training_schedule(50_000, resolution_log2=5, G_lrate_dict={4: 0.002}, D_lrate_base=0.003,
                          lrate_rampup_kimg=100)
    assert s.G_lrate == pytest.approx(0.001) and s.D_lrate == pytest.approx(0.0015)
    assert s.tick_kimg == 160
    assert training_schedule(3600_000, resolution_log2=5).tick_kimg == 100
    assert training_schedule(0, resolution_log2=5, tick_kimg_dict={}, tick_kimg_base=7).tick_kimg == 7
