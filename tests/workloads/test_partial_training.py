"""Training graphs that train only the last layers (``training_graph(train_from=...)``).

MAC counts are checked against the layer shapes by hand (MLPerf Tiny DS-CNN: 25x5 maps of
64 channels after the strided 10x4 conv; ResNet-8: 16/32/64 channels at 32/16/8 pixels)."""

import pytest

from hwsim.errors import HwsimError
from workloads import Backward, WeightUpdate, build_workload, training_graph
from workloads.models import vision

DW = 25 * 5 * 64 * 9  # one depthwise 3x3 layer of DS-CNN
PW = 25 * 5 * 64 * 64  # one pointwise layer
FC = 64 * 12  # the classifier


def test_default_and_first_op_are_full_training():
    """No ``train_from``, or the first op named, is the full graph the registry builds."""
    fwd = vision.build_ds_cnn()
    full = build_workload("ds-cnn", phase="train")
    for g in (training_graph(fwd), training_graph(fwd, train_from="conv1")):
        assert [op.name for op in g.ops] == [op.name for op in full.ops]
        assert g.macs == full.macs


def test_latent_replay_step_by_hand():
    """From ds4.depthwise with stored activations: forward of dw, pw, fc; weight grads of
    all three; input grads of pw and fc only (dw is the first trained op)."""
    g = training_graph(vision.build_ds_cnn(), train_from="ds4.depthwise", frozen_forward=False)
    assert g.macs == 2 * (DW + PW + FC) + (PW + FC)
    assert g.ops[0].name == "ds4.depthwise"
    assert {u.target for u in g.ops if isinstance(u, WeightUpdate)} == {
        "ds4.depthwise", "ds4.bn_dw", "ds4.pointwise", "ds4.bn_pw", "dense"}
    assert g.info["train_from"] == "ds4.depthwise" and g.info["frozen_forward"] is False


def test_frozen_forward_runs_but_trains_nothing():
    """The frozen prefix still runs its forward (the TrainLib_Deployer's sparse update):
    the step is the whole forward plus the trained part's backward."""
    fwd = vision.build_ds_cnn()
    g = training_graph(fwd, train_from="ds4.depthwise")
    assert g.macs == fwd.macs + (DW + PW + FC) + (PW + FC)
    trained = {op.forward.name for op in g.ops if isinstance(op, Backward)}
    assert "conv1" not in trained and "ds3.pointwise" not in trained
    assert sum(u.numel for u in g.ops if isinstance(u, WeightUpdate)) < fwd.params


def test_resnet8_from_stack2():
    """Stack 2 and 3 trained: stack2.conv1 16->32 3x3/2 at 16x16 out, conv2 32->32,
    shortcut 16->32 1x1/2; stack3 the same at 8x8 with 32->64. The shortcut reads a frozen
    activation and still gets its input grad (documented over-count)."""
    s2 = 16 * 16 * 32 * (16 * 9 + 32 * 9 + 16)
    s3 = 8 * 8 * 64 * (32 * 9 + 64 * 9 + 32)
    fc = 64 * 10
    first = 16 * 16 * 32 * 16 * 9  # stack2.conv1 gets no input grad
    g = training_graph(vision.build_resnet8(), train_from="stack2.conv1", frozen_forward=False)
    assert g.macs == 3 * (s2 + s3 + fc) - first


def test_unknown_layer_names_the_allowed_ones():
    with pytest.raises(HwsimError, match=r"train_from 'nope' is not an op.*ds4\.pointwise"):
        training_graph(vision.build_ds_cnn(), train_from="nope")
