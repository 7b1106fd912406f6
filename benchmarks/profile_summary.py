"""Where the time of a tf.profiler trace goes: the device time per op type, largest first.

    python benchmarks/profile_summary.py <profile log dir>

Reads the newest `*.xplane.pb` under the directory (written by `tf.profiler.experimental.start/stop`). On a GPU the
kernels of the device planes are summed by kernel name; on a CPU the TensorFlow ops of the host threads by op type.
"""
import collections
import glob
import os
import sys

from tensorflow.tsl.profiler.protobuf import xplane_pb2


def op_times(path):
    """`({name: seconds}, plane kind)` of the trace at `path`."""
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    gpu_planes = [p for p in space.planes if p.name.startswith("/device:GPU")]
    planes = gpu_planes or [p for p in space.planes if p.name == "/host:CPU"]
    totals = collections.Counter()
    for plane in planes:
        names = {i: m.name for i, m in plane.event_metadata.items()}
        for line in plane.lines:
            if not gpu_planes and "tf_" not in line.name.lower() and "executor" not in line.name.lower():
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                totals[name if gpu_planes else name.split(":")[-1]] += event.duration_ps * 1e-12
    return totals, "GPU kernels" if gpu_planes else "CPU ops"


def main(directory):
    paths = sorted(glob.glob(os.path.join(directory, "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    if not paths:
        print(f"no *.xplane.pb under {directory}")
        return 1
    totals, kind = op_times(paths[-1])
    total = sum(totals.values()) or 1.0
    print(f"{kind}: {total:.3f} s in all ({paths[-1]})")
    for name, seconds in totals.most_common(40):
        print(f"{seconds:9.4f} s {seconds / total:6.1%}  {name[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
