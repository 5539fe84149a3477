"""Sinkhorn and WKD-L against a naive per-sample reference."""
import warnings

import pytest
import torch

from wkd_det.functional import (nontarget_wasserstein, sinkhorn_cost,
                                target_loss, wkd_logit_loss)


def random_cost(k, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(k, k, generator=g, dtype=dtype)
    m = (m + m.t()) / 2
    return m.fill_diagonal_(0.0)


def naive_nontarget_wd(z_s, z_t, labels, cost, tau, eps, iters):
    """Per-sample Sinkhorn with the cost sub-matrix gathered per sample (the
    formulation of the WKD authors' public classification code: u0 = 1/K,
    then v, then u, each iteration)."""
    out = []
    for n in range(z_s.size(0)):
        keep = [k for k in range(z_s.size(1)) if k != int(labels[n])]
        p = torch.softmax(z_s[n, keep] / tau, 0)
        q = torch.softmax(z_t[n, keep] / tau, 0)
        sub = cost[keep][:, keep]
        kernel = torch.exp(-sub / eps)
        u = torch.full_like(p, 1.0 / len(keep))  # the authors' u0 = 1/K
        for _ in range(iters):
            v = q / (kernel.t() @ u)
            u = p / (kernel @ v)
        plan = u[:, None] * kernel * v[None, :]
        out.append((plan * sub).sum())
    return torch.stack(out)


def naive_target_loss(z_s, z_t, labels):
    terms = [-torch.softmax(z_t[n], 0)[labels[n]] *
             torch.log_softmax(z_s[n], 0)[labels[n]] for n in range(len(labels))]
    return torch.stack(terms).mean()


def logits(n, k, scale=3.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=dtype) * scale,
            torch.randn(n, k, generator=g, dtype=dtype) * scale,
            torch.randint(0, k, (n,), generator=g))


@pytest.mark.parametrize('eps,tau,iters', [(0.05, 2.0, 10), (0.1, 4.0, 20),
                                           (0.01, 1.0, 10)])
def test_matches_naive_per_sample_sinkhorn(eps, tau, iters):
    z_s, z_t, y = logits(16, 7)
    cost = random_cost(7)
    ours = nontarget_wasserstein(z_s, z_t, y, cost, tau=tau, eps=eps,
                                 iters=iters)
    ref = naive_nontarget_wd(z_s, z_t, y, cost, tau, eps, iters)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)


def test_full_loss_matches_naive():
    z_s, z_t, y = logits(10, 6, seed=3)
    cost = random_cost(6, seed=3)
    ours = wkd_logit_loss(z_s, z_t, y, cost, tau=2.0, eps=0.05, iters=10,
                          target_weight=0.7, wd_weight=30.0)
    ref = (0.7 * naive_target_loss(z_s, z_t, y) + 30.0 *
           naive_nontarget_wd(z_s, z_t, y, cost, 2.0, 0.05, 10).mean())
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
    torch.testing.assert_close(target_loss(z_s, z_t, y).mean(),
                               naive_target_loss(z_s, z_t, y), rtol=1e-10, atol=0)


def test_float32_matches_float64_reference():
    z_s, z_t, y = logits(64, 81, dtype=torch.float32, seed=1)
    cost = random_cost(81, dtype=torch.float32, seed=1)
    ours = nontarget_wasserstein(z_s, z_t, y, cost, tau=4.0, eps=0.05)
    assert ours.dtype == torch.float32
    ref = naive_nontarget_wd(z_s.double(), z_t.double(), y, cost.double(),
                             4.0, 0.05, 10)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=0)


def test_gradcheck():
    z_s, z_t, y = logits(3, 5, scale=1.0, seed=2)
    cost = random_cost(5, seed=2)
    z_s.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda s: wkd_logit_loss(s, z_t, y, cost, tau=2.0, eps=0.1, iters=5,
                                 wd_weight=5.0), (z_s,))
    assert torch.autograd.gradcheck(
        lambda s: nontarget_wasserstein(s, z_t, y, cost, eps=0.05, iters=4),
        (z_s,))


def test_gradients_flow_through_iterations():
    """More iterations change the gradient: it is not cut after iteration 1."""
    z_s, z_t, y = logits(4, 6, seed=4)
    cost = random_cost(6, seed=4)
    grads = []
    for iters in (1, 30):
        s = z_s.clone().requires_grad_(True)
        nontarget_wasserstein(s, z_t, y, cost, eps=0.05, iters=iters).sum().backward()
        grads.append(s.grad)
    assert not torch.allclose(grads[0], grads[1])


def test_zero_samples_is_zero_and_differentiable():
    s = torch.zeros(0, 5, requires_grad=True)
    loss = wkd_logit_loss(s, torch.zeros(0, 5), torch.zeros(0, dtype=torch.long),
                          1 - torch.eye(5))
    assert loss.item() == 0.0
    loss.backward()
    assert s.grad.shape == (0, 5)


def test_single_nontarget_class_has_zero_distance():
    z_s, z_t, _ = logits(5, 2)
    y = torch.tensor([0, 1, 0, 1, 1])
    wd = nontarget_wasserstein(z_s, z_t, y, random_cost(2), eps=0.05)
    torch.testing.assert_close(wd, torch.zeros_like(wd))


def test_identical_inputs_give_only_the_entropic_bias():
    """p == q: the exact distance is 0, Sinkhorn gives <P_eps, M> > 0, which
    shrinks with eps; the total loss is L_t plus that bias."""
    z, _, y = logits(8, 6, seed=5)
    cost = random_cost(6, seed=5)
    biases = [nontarget_wasserstein(z, z, y, cost, eps=eps, iters=200).mean()
              for eps in (0.2, 0.05, 0.01)]
    assert biases[0] > biases[1] > biases[2] > 0
    ref = naive_nontarget_wd(z, z, y, cost, 2.0, 0.05, 10).mean()
    total = wkd_logit_loss(z, z, y, cost, eps=0.05, wd_weight=1.0)
    torch.testing.assert_close(total, naive_target_loss(z, z, y) + ref,
                               rtol=1e-6, atol=0)


@pytest.mark.parametrize('eps', [0.01, 0.05])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_extreme_logits_stay_finite(eps, dtype):
    g = torch.Generator().manual_seed(0)
    z_s = (torch.randint(0, 2, (32, 11), generator=g) * 2 - 1).to(dtype) * 1e4
    z_t = (torch.randint(0, 2, (32, 11), generator=g) * 2 - 1).to(dtype) * 1e4
    z_s.requires_grad_(True)
    y = torch.randint(0, 11, (32,), generator=g)
    loss = wkd_logit_loss(z_s, z_t, y, random_cost(11, dtype), eps=eps,
                          wd_weight=10.0)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(z_s.grad).all()


def test_small_eps_runs_in_float64_and_matches_reference():
    z_s, z_t, y = logits(8, 9, dtype=torch.float32, seed=6)
    cost = random_cost(9, dtype=torch.float32, seed=6)
    ours = nontarget_wasserstein(z_s, z_t, y, cost, eps=0.01)
    assert ours.dtype == torch.float64
    ref = naive_nontarget_wd(z_s.double(), z_t.double(), y, cost.double(),
                             2.0, 0.01, 10)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)


def test_runs_in_float32_under_bfloat16_autocast():
    z_s, z_t, y = logits(8, 5, dtype=torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        wd = sinkhorn_cost(torch.log_softmax(z_s, 1), torch.log_softmax(z_t, 1),
                           random_cost(5).float(), eps=0.05)
    assert wd.dtype == torch.float32
    ref = sinkhorn_cost(torch.log_softmax(z_s.double(), 1),
                        torch.log_softmax(z_t.double(), 1), random_cost(5),
                        eps=0.05)
    torch.testing.assert_close(wd.double(), ref, rtol=1e-4, atol=0)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_input_raises_naming_the_loss(bad):
    z_s, z_t, y = logits(4, 5)
    z_t[1, 2] = bad
    with pytest.raises(ValueError, match='WKD-L: teacher_logits'):
        wkd_logit_loss(z_s, z_t, y, random_cost(5))


def test_shape_errors():
    z_s, z_t, y = logits(4, 5)
    with pytest.raises(ValueError, match='cost matrix is'):
        wkd_logit_loss(z_s, z_t, y, random_cost(4))
    with pytest.raises(ValueError, match='differ in shape'):
        wkd_logit_loss(z_s, z_t[:, :4], y, random_cost(5))
    with pytest.raises(ValueError, match='eps must be'):
        sinkhorn_cost(z_s, z_t, random_cost(5), eps=0.0)


def test_transport_plan_marginals_hold():
    """After enough iterations the distance equals the naive one with many
    iterations, i.e. the masked problem is the sub-matrix problem."""
    z_s, z_t, y = logits(6, 8, seed=7)
    cost = random_cost(8, seed=7)
    ours = nontarget_wasserstein(z_s, z_t, y, cost, eps=0.02, iters=500)
    ref = naive_nontarget_wd(z_s, z_t, y, cost, 2.0, 0.02, 500)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=0)


def test_bfloat16_logits_give_float32_loss():
    z_s, z_t, y = logits(8, 5, dtype=torch.float32)
    loss = wkd_logit_loss(z_s.bfloat16(), z_t.bfloat16(), y, random_cost(5).float())
    assert loss.dtype == torch.float32


def test_unconverged_plan_warns_once_naming_eps_and_iters(monkeypatch):
    from wkd_det.functional import sinkhorn
    monkeypatch.setattr(sinkhorn, '_WARNED', set())
    z_s, z_t, y = logits(8, 6, seed=8)
    cost = random_cost(6, seed=8)
    with pytest.warns(UserWarning, match=r'eps=0\.01 and iters=10'):
        nontarget_wasserstein(z_s, z_t, y, cost, eps=0.01, iters=10)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        nontarget_wasserstein(z_s, z_t, y, cost, eps=0.01, iters=10)  # once
        nontarget_wasserstein(z_s, z_t, y, cost, eps=0.2, iters=500)  # converged
