"""Category interrelations (second moment, class mean, paired linear CKA),
the interrelation-to-cost map and the cosine interrelation."""
import pytest
import torch

from wkd_det.functional import (class_mean_interrelation,
                                cosine_interrelation, cost_from_interrelation,
                                pairwise_linear_cka,
                                second_moment_interrelation)


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


def naive_second_moment(feats, center=False):
    """<S_i, S_j>_F / (||S_i||_F ||S_j||_F), S_i = X_i^T X_i / n_i, with the
    inner products summed over every pair of samples (float64 loops)."""
    feats = [x.double() for x in feats]
    if center:
        feats = [x - x.mean(0) for x in feats]

    def inner(x_i, x_j):
        total = 0.0
        for a in x_i:
            for b in x_j:
                total += float(a @ b) ** 2
        return total / (len(x_i) * len(x_j))

    k = len(feats)
    ir = torch.zeros(k, k, dtype=torch.float64)
    for i in range(k):
        for j in range(k):
            ir[i, j] = inner(feats[i], feats[j]) / (
                inner(feats[i], feats[i]) * inner(feats[j], feats[j])) ** 0.5
    return ir


def naive_class_mean(feats):
    """Cosine of the class means, each mean a loop over the samples."""
    means = []
    for x in feats:
        total = torch.zeros(x.shape[1], dtype=torch.float64)
        for row in x.double():
            total += row
        means.append(total / len(x))
    k = len(means)
    ir = torch.zeros(k, k, dtype=torch.float64)
    for i in range(k):
        for j in range(k):
            ir[i, j] = means[i] @ means[j] / (means[i].norm() *
                                              means[j].norm())
    return ir


def uneven_feats(d, counts=(5, 8, 4, 1), seed=5):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=torch.float64) + 0.3
            for n in counts]


# d = 6: the (d x d) moment route; d = 40: the cross-Gram route (d > N)
@pytest.mark.parametrize('d', [6, 40])
@pytest.mark.parametrize('center', [False, True])
def test_second_moment_matches_naive(d, center):
    feats = uneven_feats(d)
    if center:  # a class of one sample has zero covariance: left out here
        feats = feats[:3]
    ir = second_moment_interrelation(feats, center=center)
    torch.testing.assert_close(ir, naive_second_moment(feats, center))
    assert bool(((ir >= 0) & (ir <= 1 + 1e-12)).all())
    torch.testing.assert_close(ir, ir.t())


def test_class_mean_matches_naive():
    feats = uneven_feats(7)
    torch.testing.assert_close(class_mean_interrelation(feats),
                               naive_class_mean(feats))


def test_pairing_free_accept_a_stacked_tensor():
    feats = random_feats(k=4, n=6, d=5, seed=6)
    torch.testing.assert_close(second_moment_interrelation(feats),
                               second_moment_interrelation(list(feats)))
    torch.testing.assert_close(class_mean_interrelation(feats),
                               class_mean_interrelation(list(feats)))


@pytest.mark.parametrize('fn', [second_moment_interrelation,
                                class_mean_interrelation])
def test_pairing_free_refuse_bad_input(fn):
    with pytest.raises(ValueError, match='one d'):
        fn([torch.randn(3, 4), torch.randn(3, 5)])
    with pytest.raises(ValueError, match='at least one sample'):
        fn([torch.randn(3, 4), torch.randn(0, 4)])
    with pytest.raises(ValueError, match=r'expected \(K, n, d\)'):
        fn(torch.randn(3, 4))


def test_zero_class_has_zero_interrelation():
    feats = uneven_feats(6)
    feats[1] = torch.zeros_like(feats[1])
    for ir in (second_moment_interrelation(feats),
               class_mean_interrelation(feats)):
        assert bool(torch.isfinite(ir).all())
        assert ir[1, 1] == 1 and ir[1, 0] == 0 and ir[0, 1] == 0


def test_sample_order_changes_paired_cka_only():
    """Reordering one class's samples is no change of the class: the
    pairing-free interrelations stay put, the paired CKA moves (its flaw)."""
    feats = random_feats(k=4, n=30, d=10, seed=7) + 0.5
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(8))
    shuffled = feats.clone()
    shuffled[1] = feats[1, perm]
    for fn in (second_moment_interrelation, class_mean_interrelation):
        torch.testing.assert_close(fn(shuffled), fn(feats), rtol=1e-12,
                                   atol=1e-12)
    change = (pairwise_linear_cka(shuffled) - pairwise_linear_cka(feats)).abs()
    assert float(change[1].max()) > 0.01


def subspace_classes(seed=0, n=50, d=16):
    """A and B drawn from one 4-dim subspace of R^16, C from an orthogonal
    one; zero-mean isotropic within the subspace."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=g,
                                           dtype=torch.float64))

    def draw(columns):
        return torch.randn(n, 4, generator=g,
                           dtype=torch.float64) @ basis[:, columns].t()

    return [draw(slice(0, 4)), draw(slice(0, 4)), draw(slice(4, 8))]


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_shared_subspace_costs_less(seed):
    feats = subspace_classes(seed)
    for center in (False, True):
        ir = second_moment_interrelation(feats, center=center)
        assert float(ir[0, 1]) > 0.5 and abs(float(ir[0, 2])) < 0.1
        cost = cost_from_interrelation(ir, kappa=1.0)
        assert float(cost[0, 2]) - float(cost[0, 1]) > 0.2
    # the class means see only the first moment: orthogonal subspaces give
    # orthogonal means, but zero-mean classes in one subspace need not align
    assert abs(float(class_mean_interrelation(feats)[0, 2])) < 0.1
    # the paired CKA cannot tell the two pairs apart: ~0.07-0.12 for both
    cka = pairwise_linear_cka(torch.stack(feats))
    assert float(cka[0, 2]) > 0.03
    assert abs(float(cka[0, 1]) - float(cka[0, 2])) < 0.05
