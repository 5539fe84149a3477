"""Class distributions of softmax and sigmoid heads, and the weighted mean
and head option of the logit losses, against naive references."""
import math

import pytest
import torch

from wkd_det.functional import (bdd_loss, class_log_probs, kd_loss,
                                uniform_cost, weighted_mean, wkd_logit_loss)


def sigmoid_logits(n=6, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, c, generator=g, dtype=torch.float64) * 3 - 2,
            torch.randn(n, c, generator=g, dtype=torch.float64) * 3 - 2)


def naive_sigmoid_probs(z, tau):
    """p(bg) = 1 - max sigmoid, classes share max sigmoid by softmax(z/tau),
    written sample by sample."""
    rows = []
    for row in z:
        score = max(1 / (1 + math.exp(-float(v))) for v in row)
        expo = [math.exp(float(v) / tau) for v in row]
        rows.append([score * e / sum(expo) for e in expo] + [1 - score])
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize('tau', [1.0, 2.0, 4.0])
def test_sigmoid_distribution_matches_naive(tau):
    z, _ = sigmoid_logits()
    ours = class_log_probs(z, tau, 'sigmoid').exp()
    torch.testing.assert_close(ours, naive_sigmoid_probs(z, tau), rtol=1e-10,
                               atol=1e-12)
    torch.testing.assert_close(ours.sum(1), torch.ones(len(z),
                                                       dtype=torch.float64))


def test_confident_negative_keeps_its_background_mass():
    """Logits -6 on 80 classes: >= 90 % background at the default tau (2)
    and any other; a zero background logit divided by tau would keep 20 %."""
    z = torch.full((1, 80), -6.0)
    for tau in (1.0, 2.0, 4.0, 8.0):
        p_bg = class_log_probs(z, tau, 'sigmoid').exp()[0, -1]
        assert p_bg >= 0.9, tau
    zero_bg = torch.cat([z, torch.zeros(1, 1)], 1)
    assert class_log_probs(zero_bg, 2.0).exp()[0, -1] < 0.25


def test_softmax_distribution_is_log_softmax():
    z, _ = sigmoid_logits()
    torch.testing.assert_close(class_log_probs(z, 3.0),
                               torch.log_softmax(z / 3.0, 1))
    with pytest.raises(ValueError, match='head must be one of'):
        class_log_probs(z, 1.0, 'tanh')


def test_weighted_mean():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert weighted_mean(x).item() == pytest.approx(2.0)
    w = torch.tensor([1.0, 0.0, 0.5])
    assert weighted_mean(x, w, 2.0).item() == pytest.approx((1 + 1.5) / 2)
    empty = torch.zeros(0, requires_grad=True)
    loss = weighted_mean(empty, avg_factor=3)
    loss.backward()
    assert loss.item() == 0.0


def naive_kl(p, q):
    return (p * (p.log() - q.log())).sum(1)


def test_kd_and_bdd_on_a_sigmoid_head_with_weights():
    s, t = sigmoid_logits(seed=1)
    w = torch.tensor([1.0, 1.0, 0.0, 0.5, 0.2, 1.0], dtype=torch.float64)
    ps, pt = naive_sigmoid_probs(s, 2.0), naive_sigmoid_probs(t, 2.0)
    ref = (4 * naive_kl(pt, ps) * w).sum() / 3.0
    torch.testing.assert_close(
        kd_loss(s, t, 2.0, head='sigmoid', weight=w, avg_factor=3.0), ref)
    ps3, pt3 = naive_sigmoid_probs(s, 3.0), naive_sigmoid_probs(t, 3.0)
    ref = ((4 * naive_kl(pt, ps) + 0.5 * 9 * naive_kl(ps3, pt3)) * w).sum() / 3
    torch.testing.assert_close(
        bdd_loss(s, t, 2.0, 3.0, 1.0, 0.5, head='sigmoid', weight=w,
                 avg_factor=3.0), ref)


def test_wkd_l_on_a_sigmoid_head_uses_c_plus_one_classes():
    """Sigmoid logits (N, C) need a (C+1, C+1) cost; the target term follows
    its formula on the sigmoid construction at tau = 1."""
    s, t = sigmoid_logits(seed=2)
    labels = torch.tensor([0, 5, 5, 2, 5, 4])  # 5 = background
    cost = uniform_cost(6).double()
    loss = wkd_logit_loss(s, t, labels, cost, tau=2.0, target_weight=1.0,
                          wd_weight=0.0, head='sigmoid')
    ps, pt = naive_sigmoid_probs(s, 1.0), naive_sigmoid_probs(t, 1.0)
    ref = -(pt[range(6), labels] * ps[range(6), labels].log()).mean()
    torch.testing.assert_close(loss, ref)
    with pytest.raises(ValueError, match='sigmoid logits make 6 classes'):
        wkd_logit_loss(s, t, labels, uniform_cost(5).double(), head='sigmoid')


def test_zero_weight_samples_do_not_count():
    """With weight 0 on some samples and avg_factor fixed, adding such
    samples leaves the loss unchanged."""
    s, t = sigmoid_logits(seed=3)
    labels = torch.tensor([0, 1, 5, 5, 5, 5])
    w = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    cost = uniform_cost(6).double()
    full = wkd_logit_loss(s, t, labels, cost, wd_weight=5.0, head='sigmoid',
                          weight=w, avg_factor=2.0)
    pos = wkd_logit_loss(s[:2], t[:2], labels[:2], cost, wd_weight=5.0,
                         head='sigmoid', avg_factor=2.0)
    torch.testing.assert_close(full, pos)
