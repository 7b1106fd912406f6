"""Typed training options: the presets are the official configurations, `training_options.json` round-trips them,
files written before the options were typed still load, damaged files are one clear error, and the flags change a
preset as documented."""
import dataclasses
import json
from pathlib import Path

import pytest

from stylegan_tf.errors import InputError
from training import options as options_lib
from training.options import Adam, Schedule, TrainingOptions
from training.presets import PRESETS, resolve

LEGACY_RUN = Path(__file__).parent / "data" / "legacy_run" / "00000-legacy-1replica"

# The official StyleGAN train.py (FFHQ): learning rates and the minibatch per GPU count
OFFICIAL_LRATES = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
OFFICIAL_FFHQ = {
    1: (4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}),
    2: (8, {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}),
    4: (16, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}),
    8: (32, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}),
}
# official training_loop: tick lengths per resolution
OFFICIAL_TICK_KIMG = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}


@pytest.mark.parametrize("gpus", [1, 2, 4, 8])
def test_ffhq_presets_are_the_official_configuration(gpus):
    o = PRESETS[f"ffhq-{gpus}gpu"]()
    assert (o.G_func, o.D_func, o.G_loss, o.D_loss) == ("G_style", "D_basic", "G_logistic_nonsaturating",
                                                        "D_logistic_simplegp")
    assert o.D_loss_args == {"r1_gamma": 10.0} and o.G_opt_args == o.D_opt_args == Adam(0.0, 0.99, 1e-8)
    assert (o.total_kimg, o.mirror_augment, o.G_smoothing_kimg, o.minibatch_repeats, o.D_repeats) == (
        25000, True, 10.0, 4, 1)
    assert o.G_smoothing_rampup is None  # no ramp-up of Gs's half-life in StyleGAN (StyleGAN2-ADA has one)
    assert (o.image_snapshot_ticks, o.network_snapshot_ticks, o.reset_opt_for_new_lod) == (1, 10, True)
    s = o.sched_args
    assert (s.lod_initial_resolution, s.lod_training_kimg, s.lod_transition_kimg) == (8, 600, 600)
    assert (s.minibatch_base, s.minibatch_dict) == OFFICIAL_FFHQ[gpus]
    assert s.G_lrate_dict == s.D_lrate_dict == OFFICIAL_LRATES and s.G_lrate_base == s.D_lrate_base == 0.001
    assert s.tick_kimg_dict == OFFICIAL_TICK_KIMG and s.tick_kimg_base == 160 and not s.max_minibatch_per_gpu


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_training_options_json_round_trips_every_preset(name, tmp_path):
    options = resolve(name, data="/data/x", metrics=["fid50k"])
    options_lib.save(options, tmp_path)
    back = options_lib.load(tmp_path)
    assert back == options
    assert all(isinstance(k, int) for k in back.sched_args.tick_kimg_dict)  # resolutions back to ints
    assert json.loads((tmp_path / "training_options.json").read_text())["sched_args"]["minibatch_base"] == \
        options.sched_args.minibatch_base


def test_options_written_before_they_were_typed_load():
    """`tests/data/legacy_run` was written by the untyped code: the same keys, some schedule keys absent."""
    o = options_lib.load(LEGACY_RUN)
    assert isinstance(o, TrainingOptions) and isinstance(o.sched_args, Schedule)
    assert o.G_args == {"dlatent_size": 16, "fmap_base": 64, "fmap_max": 16, "latent_size": 16, "mapping_fmaps": 16,
                        "mapping_layers": 2}
    assert (o.total_kimg, o.grid_size, o.network_snapshot_ticks, o.G_smoothing_kimg) == (0.128, (4, 2), 1, 1.0)
    assert (o.sched_args.tick_kimg_base, o.sched_args.tick_kimg_dict, o.sched_args.G_lrate_base) == (0.064, {}, 0.002)
    # absent from the file: the defaults
    assert o.sched_args.max_minibatch_per_gpu == {} and o.sched_args.lrate_rampup_kimg == 0
    assert o.config is None and o.augment == options_lib.Augment()
    legacy = json.loads((LEGACY_RUN / "training_options.json").read_text())
    written = json.loads(o.to_json())
    assert {k: v for k, v in written.items() if k in legacy and k != "sched_args"} == \
        {k: v for k, v in legacy.items() if k != "sched_args"}


@pytest.mark.parametrize("text,message", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "the file holds a list, not an object of options"),
    ('{"total_kimg": "ten"}', "option total_kimg is a str (ten), not a float"),
    ('{"mirror_augment": 1}', "option mirror_augment is an int (1), not a bool"),
    ('{"seed": 1.5}', "option seed is a float (1.5), not an int"),
    ('{"G_opt_args": 3}', "option G_opt_args is an int, not an object of options"),
    ('{"sched_args": {"minibatch_dict": {"big": 4}}}', "option sched_args.minibatch_dict maps resolutions"),
    ('{"sched_args": {"minibatch_base": null}}', "option sched_args.minibatch_base is null"),
    ('{"grid_size": [8]}', "option grid_size is a list, not a list of 2 values"),
    ('{"total_kimg": 1, "learning_rate": 2}', "unknown option learning_rate"),
    ('{"sched_args": {"lod_steps": 2}}', "unknown option sched_args.lod_steps"),
])
def test_damaged_options_are_one_clear_error(tmp_path, text, message):
    (tmp_path / "training_options.json").write_text(text)
    with pytest.raises(InputError, match="training_options.json") as error:
        options_lib.load(tmp_path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_not_a_run_directory(tmp_path):
    with pytest.raises(InputError, match="not a run directory"):
        options_lib.load(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        options_lib.load(tmp_path / "missing")


def test_flags_change_the_preset():
    base = PRESETS["ffhq-2gpu"]()
    o = resolve("ffhq-2gpu", lrate=0.01, minibatch=24, tick_kimg=2, loss="wgan-gp", mirror=False, total_kimg=5,
                lod_initial_resolution=64)
    s = o.sched_args
    assert s.lod_initial_resolution == 64 and base.sched_args.lod_initial_resolution == 8
    assert (s.G_lrate_base, s.D_lrate_base, s.G_lrate_dict, s.D_lrate_dict) == (0.01, 0.01, {}, {})
    assert (s.minibatch_base, s.minibatch_dict, s.max_minibatch_per_gpu) == (24, {}, {})
    assert (s.tick_kimg_base, s.tick_kimg_dict) == (2.0, {})
    assert (o.G_loss, o.D_loss, o.D_loss_args) == ("G_wgan", "D_wgan_gp", {})
    assert (o.mirror_augment, o.total_kimg, o.config) == (False, 5, "ffhq-2gpu")
    unchanged = {f.name for f in dataclasses.fields(o)} - {"sched_args", "G_loss", "D_loss", "D_loss_args",
                                                          "mirror_augment", "total_kimg", "data"}
    assert all(getattr(o, name) == getattr(base, name) for name in unchanged)
    assert resolve("quickstart", r1_gamma=5).D_loss_args == {"r1_gamma": 5.0}
    smoothed = resolve("ffhq-1gpu", G_smoothing_kimg=2, G_smoothing_rampup=0.05)
    assert (smoothed.G_smoothing_kimg, smoothed.G_smoothing_rampup, base.G_smoothing_rampup) == (2.0, 0.05, None)
    assert resolve("ffhq-1gpu", G_smoothing_rampup=0).G_smoothing_rampup is None  # 0: no ramp-up
    assert resolve("quickstart").data.endswith("fashion_mnist_32")  # the bundled data by default
    with pytest.raises(InputError, match="r1_gamma applies to the logistic loss only"):
        resolve("progan", r1_gamma=5)
    with pytest.raises(InputError, match="unknown preset 'nope'"):
        resolve("nope")
    for bad in (2, 48):
        with pytest.raises(InputError, match=f"lod_initial_resolution must be a power of two >= 4, got {bad}"):
            resolve("quickstart", lod_initial_resolution=bad)


def test_presets_are_independent():
    a, b = PRESETS["quickstart"](), PRESETS["quickstart"]()
    a.sched_args.minibatch_dict[8] = 1
    a.G_args["fmap_max"] = 1
    assert b.sched_args.minibatch_dict == {} and b.G_args["fmap_max"] == 32


@pytest.mark.parametrize("changes", [{"G_smoothing_kimg": -1.0}, {"G_smoothing_rampup": -0.05},
                                     {"G_smoothing_rampup": 0.0}])
def test_a_moving_average_out_of_range_is_refused_before_training(changes):
    from training.training_loop import check_options
    check_options(resolve("quickstart", G_smoothing_rampup=0.05))
    with pytest.raises(InputError, match="Gs's moving average needs G_smoothing_kimg >= 0 and G_smoothing_rampup > 0"):
        check_options(dataclasses.replace(resolve("quickstart"), **changes))
