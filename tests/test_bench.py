"""The benchmark worker's JSON-lines protocol, end to end in a subprocess."""
import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_worker_protocol(fixtures_dir):
    commands = "train 2\ngen 1\nbogus\nquit\n"
    out = subprocess.run(
        [sys.executable, "-m", "stylegan_tf.bench", "--worker", "--threads=1", "--train_config=quickstart",
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
