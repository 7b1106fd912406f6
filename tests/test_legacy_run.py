"""A run written by the code before the networks were built from blocks
(``tests/data/legacy_run/00000-legacy-1replica``, see its README) still loads: its networks
rebuilt from ``checkpoints/networks.json`` have the recorded official variables in the recorded
order, ``ckpt-128`` restores every one of them from its official checkpoint key, and its network
snapshot gives the checkpoint's networks."""
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

import stylegan_tf
from stylegan_tf.checkpoints import NETWORK_KEYS, load_checkpoint

RUN = Path(__file__).resolve().parent / "data" / "legacy_run" / "00000-legacy-1replica"
CHECKPOINTS = RUN / "checkpoints"


@pytest.fixture(scope="module")
def restored():
    """``{'G', 'D', 'Gs'}`` rebuilt from networks.json and restored from ckpt-128."""
    networks = load_checkpoint(str(CHECKPOINTS), data_format="NHWC", prefix=str(CHECKPOINTS / "ckpt-128"))
    return dict(zip(NETWORK_KEYS, networks))


def _recorded_names(skeleton):
    """Official names of a network and its components as ``networks.json`` records them."""
    names = list(skeleton["variables"])
    for component in skeleton["components"].values():
        names += [f"{component['name']}/{name}" for name in _recorded_names(component)]
    return names


def test_rebuilt_networks_have_the_recorded_variables_in_order(restored):
    config = json.loads((CHECKPOINTS / "networks.json").read_text())
    for key, net in restored.items():
        assert [name for name, _ in net.all_official_variables()] == _recorded_names(config[key])


def test_every_variable_is_restored_from_its_official_path(restored):
    """The checkpoint's object graph reaches each value by the official path ``G/G_synthesis/4x4/
    Const/const`` (one scope per level); the restored variable holds that value."""
    reader = tf.train.load_checkpoint(str(CHECKPOINTS / "ckpt-128"))
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))

    def value_at(path):
        node = graph.nodes[0]
        for part in path.split("/"):
            node = graph.nodes[next(child.node_id for child in node.children if child.local_name == part)]
        return reader.get_tensor(node.attributes[0].checkpoint_key)

    for key, net in restored.items():
        for name, var in net.all_official_variables():
            np.testing.assert_array_equal(var.numpy(), value_at(f"{key}/{name}"), err_msg=f"{key}/{name}")


def test_snapshot_pickle_gives_the_checkpoint_networks(restored):
    G, D, Gs = stylegan_tf.load_network_pkl(RUN / "network-snapshot-000000.pkl", data_format="NHWC")  # noqa: N806
    for key, net in zip(NETWORK_KEYS, (G, D, Gs)):
        ours = dict(restored[key].all_official_variables())
        assert list(ours) == [name for name, _ in net.all_official_variables()]
        for name, var in net.all_official_variables():
            np.testing.assert_array_equal(var.numpy(), ours[name].numpy(), err_msg=f"{key}/{name}")
    latents = tf.constant(np.random.RandomState(0).randn(4, 16).astype(np.float32))
    np.testing.assert_array_equal(Gs(latents, randomize_noise=False).numpy(),
                                  restored["Gs"](latents, randomize_noise=False).numpy())
    images = Gs(latents, truncation_psi=0.5, randomize_noise=False)
    np.testing.assert_array_equal(D(images).numpy(), restored["D"](images).numpy())
