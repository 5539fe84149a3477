"""KD, BDD and FitNet against references written from their formulas."""
import pytest
import torch

from wkd_det.functional import bdd_loss, fitnet_loss, kd_loss


def naive_kl(p, q):
    return torch.stack([(p[n] * (p[n].log() - q[n].log())).sum()
                        for n in range(p.size(0))]).mean()


def logits(n=6, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=torch.float64) * 2,
            torch.randn(n, k, generator=g, dtype=torch.float64) * 2)


def test_kd_matches_formula():
    s, t = logits()
    ref = 16 * naive_kl(torch.softmax(t / 4, 1), torch.softmax(s / 4, 1))
    torch.testing.assert_close(kd_loss(s, t, tau=4.0).double(), ref, rtol=1e-5,
                               atol=0)


def test_bdd_matches_formula_and_reduces_to_kd():
    s, t = logits(seed=1)
    ps2, pt2 = torch.softmax(s / 2, 1), torch.softmax(t / 2, 1)
    ps3, pt3 = torch.softmax(s / 3, 1), torch.softmax(t / 3, 1)
    ref = 0.5 * 4 * naive_kl(pt2, ps2) + 2.0 * 9 * naive_kl(ps3, pt3)
    ours = bdd_loss(s, t, tau_forward=2.0, tau_reverse=3.0, alpha=0.5, beta=2.0)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=0)
    torch.testing.assert_close(bdd_loss(s, t, 4.0, 4.0, 1.0, 0.0),
                               kd_loss(s, t, 4.0))


def test_reverse_term_weights_small_teacher_probabilities():
    """Where the student puts mass on a class the teacher nearly excludes,
    the reverse KL is large while the forward KL barely sees it."""
    t = torch.tensor([[8.0, 0.0, -8.0]])
    s = torch.tensor([[8.0, 0.0, 4.0]])
    forward = bdd_loss(s, t, 1.0, 1.0, alpha=1.0, beta=0.0)
    reverse = bdd_loss(s, t, 1.0, 1.0, alpha=0.0, beta=1.0)
    assert reverse > 2 * forward


def test_gradcheck_and_zero_at_identity():
    s, t = logits(3, 4, seed=2)
    s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: bdd_loss(x, t, 2.0, 3.0), (s,))
    assert torch.autograd.gradcheck(lambda x: kd_loss(x, t, 2.0), (s,))
    assert kd_loss(t, t).item() == pytest.approx(0.0, abs=1e-6)
    assert bdd_loss(t, t).item() == pytest.approx(0.0, abs=1e-6)


def test_fitnet():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    torch.testing.assert_close(fitnet_loss(a, b), ((a - b)**2).mean())
    with pytest.raises(ValueError, match='FitNet'):
        fitnet_loss(a, b[:, :2])


@pytest.mark.parametrize('fn,name', [(kd_loss, 'KD'), (bdd_loss, 'BDD')])
def test_empty_and_non_finite(fn, name):
    s = torch.zeros(0, 4, requires_grad=True)
    loss = fn(s, torch.zeros(0, 4))
    loss.backward()
    assert loss.item() == 0.0
    bad = torch.zeros(2, 4)
    bad[0, 0] = float('inf')
    with pytest.raises(ValueError, match=f'{name}: teacher_logits'):
        fn(torch.zeros(2, 4), bad)


def test_extreme_logits_finite():
    s = torch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    t = torch.tensor([[-1e4, 1e4, 0.0]])
    loss = bdd_loss(s, t) + kd_loss(s, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
