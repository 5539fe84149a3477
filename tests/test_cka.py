"""Linear CKA, the interrelation-to-cost map and the cosine interrelation."""
import pytest
import torch

from wkd_det.functional import (cosine_interrelation, cost_from_interrelation,
                                pairwise_linear_cka)


def naive_cka(x_i, x_j):
    """||X_j^T X_i||_F^2 / (||X_i^T X_i||_F ||X_j^T X_j||_F), rows centred."""
    x_i = x_i - x_i.mean(0)
    x_j = x_j - x_j.mean(0)
    return (x_j.t() @ x_i).norm() ** 2 / (
        (x_i.t() @ x_i).norm() * (x_j.t() @ x_j).norm())


def random_feats(k=5, n=12, d=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, n, d, generator=g, dtype=torch.float64)


def test_cka_matches_naive_per_pair():
    feats = random_feats()
    cka = pairwise_linear_cka(feats)
    expected = torch.tensor([[float(naive_cka(a, b)) for b in feats]
                             for a in feats], dtype=torch.float64)
    torch.testing.assert_close(cka, expected)


def test_cka_identity_symmetry_and_range():
    feats = random_feats(k=6, n=9, d=20, seed=1)
    cka = pairwise_linear_cka(feats)
    torch.testing.assert_close(cka.diagonal(), torch.ones(6, dtype=cka.dtype))
    torch.testing.assert_close(cka, cka.t())
    assert bool(((cka >= 0) & (cka <= 1 + 1e-12)).all())
    # CKA(X, X) = 1 for a pair of identical classes, off the diagonal too
    same = pairwise_linear_cka(torch.stack([feats[0], feats[0].clone()]))
    torch.testing.assert_close(same, torch.ones(2, 2, dtype=same.dtype))


def test_cka_invariant_to_isotropic_scaling_and_orthogonal_maps():
    feats = random_feats(k=4, n=10, d=6, seed=2)
    q, _ = torch.linalg.qr(random_feats(k=1, n=6, d=6, seed=3)[0])
    scale = torch.tensor([0.1, 3.0, 1.0, 250.0], dtype=feats.dtype)
    transformed = scale[:, None, None] * feats @ q + 5.0  # shift: centred away
    torch.testing.assert_close(pairwise_linear_cka(transformed),
                               pairwise_linear_cka(feats))


def test_cka_of_constant_class_is_zero_off_diagonal():
    feats = random_feats(k=3)
    feats[1] = 2.0
    cka = pairwise_linear_cka(feats)
    assert bool(torch.isfinite(cka).all())
    assert cka[1, 1] == 1 and cka[1, 0] == 0 and cka[0, 1] == 0


def test_cka_refuses_wrong_shape():
    with pytest.raises(ValueError, match=r'expected \(K, n, d\)'):
        pairwise_linear_cka(torch.randn(4, 5))


@pytest.mark.parametrize('kappa', [0.5, 1.0, 2.0])
def test_cost_from_interrelation(kappa):
    ir = pairwise_linear_cka(random_feats(k=6, seed=4))
    ir[0, 1] = ir[1, 0] = 1.0  # two identical categories off the diagonal
    cost = cost_from_interrelation(ir, kappa)
    off = ~torch.eye(6, dtype=torch.bool)
    assert cost.dtype == torch.float32
    assert bool((cost.diagonal() == 0).all())
    assert bool((cost[off] >= 1e-8).all()) and float(cost[0, 1]) == \
        pytest.approx(1e-8)
    assert bool((cost <= 1).all())
    expected = 1 - torch.exp(-kappa * (1 - ir))
    torch.testing.assert_close(cost[off], expected[off].float().clamp_min(1e-8))


def test_cosine_interrelation():
    weights = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    expected = torch.tensor([[1.0, 1.0, 0.0, -1.0], [1.0, 1.0, 0.0, -1.0],
                             [0.0, 0.0, 1.0, 0.0], [-1.0, -1.0, 0.0, 1.0]],
                            dtype=torch.float64)
    torch.testing.assert_close(cosine_interrelation(weights), expected)
