"""Reading the official reference fixtures (``../shared/fixtures/*/cases.json`` + ``cases.npz``)."""
import json

import numpy as np


class CaseFile:
    """One fixture directory: its cases, arrays and pickle path."""

    def __init__(self, directory):
        self.dir = directory
        self.doc = json.loads((directory / "cases.json").read_text())
        self.npz = np.load(directory / "cases.npz")
        self.pickle = directory / "network-snapshot.pkl"
        self.cases = {c["name"]: c for c in self.doc["cases"]}

    def inputs(self, case):
        """``{name: array}`` of a case's inputs."""
        return {i["name"]: self.npz[i["key"]] for i in case["inputs"]}

    def check(self, case, outputs):
        """Assert ``outputs[name]`` is within tolerance of each reference output present."""
        failures = []
        for o in case["outputs"]:
            if o["name"] not in outputs:
                continue
            ref = self.npz[o["key"]]
            got = np.asarray(outputs[o["name"]], dtype=np.float64)
            assert got.shape == ref.shape, f"{case['name']}/{o['name']}: shape {got.shape} != {ref.shape}"
            err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
            if err > o["atol"]:
                failures.append(f"{o['name']}: max |diff| {err:.3g} > atol {o['atol']:.3g}")
        assert not failures, f"{case['name']}: " + "; ".join(failures)
        return [o["name"] for o in case["outputs"] if o["name"] in outputs]
