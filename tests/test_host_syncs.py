"""The losses read tensors back to the host (a GPU stall each) a fixed,
small number of times per call, whatever the number of samples or inputs.
Counted with tools/benchmark_step.py's op counter, forward and backward."""
import os.path as osp
import sys

import torch
from test_sinkhorn import logits, random_cost

import wkd_det.functional.sinkhorn as sinkhorn_module
from wkd_det.functional import wkd_feature_loss, wkd_logit_loss

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'tools'))
from benchmark_step import OpCounter  # noqa: E402


def syncs_of(loss_fn, leaf) -> int:
    with OpCounter() as counter:
        loss_fn(leaf).backward()
    return counter.syncs


def test_wkd_l_reads_back_three_times(monkeypatch):
    # the finiteness check of the inputs (one read for all three), max(M)
    # for the float64 decision, and the converged plan's marginal check
    monkeypatch.setattr(sinkhorn_module, '_WARNED', set())
    z_s, z_t, labels = logits(256, 21, scale=1.0)
    z_s.requires_grad_(True)
    cost = random_cost(21)
    assert syncs_of(lambda s: wkd_logit_loss(s, z_t, labels, cost, eps=0.1,
                                             iters=50), z_s) == 3


def test_wkd_f_reads_back_once():
    g = torch.Generator().manual_seed(0)
    student = torch.randn(2, 8, 16, 16, generator=g, requires_grad=True)
    teacher = torch.randn(2, 8, 16, 16, generator=g)
    assert syncs_of(lambda s: wkd_feature_loss(
        s, teacher, cell_size=2, normalize=True, standardize=True),
        student) == 1
