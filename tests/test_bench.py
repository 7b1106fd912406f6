"""The benchmark CLI end to end in a subprocess: its table and the worker's JSON-lines protocol."""
import json
import os
import platform
import subprocess
import sys

import pytest


def test_time_calls_times_steady_state_calls_after_the_first():
    import time

    from stylegan_tf import benchmark
    durations = iter([0.3, 0.0] + [0.01] * 1000)  # first call (tracing), warm-up, then steady calls
    timing = benchmark.time_calls(lambda: time.sleep(next(durations)), seconds=0.1)
    assert timing["first_s"] >= 0.3
    assert 10 < timing["calls_s"] <= 100  # at most one 10 ms call per 10 ms


@pytest.mark.slow
def test_worker_protocol(fixtures_dir):
    commands = "train 2\ngen 1\nbogus\nquit\n"
    out = subprocess.run(
        [sys.executable, "-m", "cli.bench", "--worker", "--threads=1", "--train_config=quickstart",
         "--worker_train_batch=8", "--worker_gen_batch=4", "--xla=off",
         f"--network={fixtures_dir / 'official_stylegan' / 'network-snapshot.pkl'}"],
        input=commands, capture_output=True, text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(line) for line in out.stdout.splitlines()]  # only protocol lines on stdout
    assert [line["event"] for line in lines] == ["ready", "train", "gen", "error", "final"]
    ready, train, gen = lines[:3]
    assert ready["worker"] == "stylegan-tf" and ready["info"]["threads"] == 1
    assert all(ready[k] > 0 for k in ("import_s", "build_s", "first_iter_s", "first_gen_s", "peak_rss_mb"))
    assert train["n"] == 2 and len(train["per_call_s"]) == 2
    assert train["img_s"] == pytest.approx(2 * 8 / train["seconds"])
    assert gen["n"] == 1 and gen["img_s"] == pytest.approx(4 / gen["seconds"])
    assert 0 < train["cpu_per_wall"] and train["cpu_s"] > 0
    assert train["gflop_s"] == pytest.approx(train["img_s"] * ready["info"]["gflop_per_train_image"])
    assert gen["gflop_s"] == pytest.approx(gen["img_s"] * ready["info"]["gflop_per_gen_image"])


@pytest.mark.slow
def test_table_reports_achieved_gflops_and_utilization_of_the_measured_peak():
    import stylegan_tf
    from stylegan_tf import benchmark, flops
    from training.benchmark import training_networks
    out = subprocess.run(
        [sys.executable, "-m", "cli.bench", "--threads=1", "--train_config=quickstart", "--batch=4",
         "--xla=off", "--dtype=float32,bfloat16", "--seconds=0.1"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    peak = float(lines[0].split("conv3x3 ")[1].split()[0])
    rows = {(line.split()[0], line.split()[3]): line.split() for line in lines[2:]}
    G_kwargs, D_kwargs = training_networks("quickstart")  # noqa: N806
    work = {"train": flops.training_flops(stylegan_tf.G_style(**G_kwargs), stylegan_tf.D_basic(**D_kwargs))[2],
            "generate": flops.forward_flops(stylegan_tf.G_style(**benchmark.WORKLOAD_G))}
    assert sorted(rows) == [("generate", "float32"), ("train", "bfloat16"), ("train", "float32")]
    for (mode, dtype), (_, layout, xla, _, batch, img_s, gflop_s, util, ratio, first_s, rss) in rows.items():
        assert (layout, xla, batch) == ("NHWC", "off", "4")
        assert ratio == "1.00" or dtype == "bfloat16"  # ratio: to the mode's first row
        assert float(gflop_s) == pytest.approx(float(img_s) * work[mode] / 1e9, rel=0.01, abs=0.1)
        assert float(util.rstrip("%")) == pytest.approx(100 * float(gflop_s) / peak, abs=1)
        assert float(first_s) > 0 and float(rss) > 0


@pytest.mark.slow
def test_accelerator_suite_dry_run_on_cpu(tmp_path):
    """The accelerator suite at its tiny scale: every row measured or skipped for time (none failing), JSON lines
    and a table; the two replicas train like one device."""
    out = subprocess.run(
        [sys.executable, "-m", "cli.bench", "--suite=accelerator", "--suite_scale=tiny", "--seconds=0.2",
         "--time_limit=300", f"--out={tmp_path}"],
        capture_output=True, text=True, timeout=900, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    kinds = ["input", "mirrored"] + (["train"] * 4 + ["generate"] * 4) * 2
    assert [r["what"].split()[0] for r in rows] == kinds
    assert not [r for r in rows if "error" in r]
    measured = [r for r in rows if "skipped" not in r]
    assert [r["row"] for r in measured[:3]] == ["input", "mirrored", "train"]  # at least these within the limit
    for r in measured:
        assert r["img_s"] > 0 and r["sec_per_kimg"] == pytest.approx(1000 / r["img_s"])
    assert measured[1]["replicas"] == 2 and measured[1]["max_rel_diff_vs_one_device"] < 1e-4
    table = (tmp_path / "results.md").read_text()
    assert sum(line.startswith("| ") for line in table.splitlines()) == len(rows) + 2  # + header and separator


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN's x86 switch")
@pytest.mark.parametrize("setting,enabled", [(None, True), ("0", False), ("1", True)])
def test_the_tools_turn_onednn_on_unless_the_environment_says_otherwise(setting, enabled):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = ("import cli.base\nfrom tensorflow.python.util import _pywrap_util_port\n"
            "print(_pywrap_util_port.IsMklEnabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(env, TF_CPP_MIN_LOG_LEVEL="2"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == str(enabled)
