"""Full-covariance WKD-F (Bures) against a loop-over-cells reference that
takes matrix square roots, as the formula in METHODS.md is written."""
import math

import pytest
import torch

from wkd_det.functional import (bures_wasserstein, cell_mean_covariance,
                                wkd_feature_loss)


def sqrtm(mat):
    """Symmetric positive (semi)definite square root by eigendecomposition."""
    vals, vecs = torch.linalg.eigh(mat)
    return vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T


def naive_full_wkd_f(fs, ft, grid, gamma, eps):
    """Loop over images and cells (adaptive-pooling bounds); per cell
    gamma ||mu_S - mu_T||^2 + tr(S_T + S_S - 2 (S_T^1/2 S_S S_T^1/2)^1/2)."""
    b, c, h, w = fs.shape
    terms = []
    for n in range(b):
        for i in range(grid):
            r0, r1 = (i * h) // grid, math.ceil((i + 1) * h / grid)
            for j in range(grid):
                c0, c1 = (j * w) // grid, math.ceil((j + 1) * w / grid)
                xs = fs[n, :, r0:r1, c0:c1].reshape(c, -1)
                xt = ft[n, :, r0:r1, c0:c1].reshape(c, -1)
                mu_s, mu_t = xs.mean(1), xt.mean(1)
                eye = torch.eye(c, dtype=fs.dtype)
                cov_s = torch.cov(xs, correction=0) + eps * eye
                cov_t = torch.cov(xt, correction=0) + eps * eye
                root_t = sqrtm(cov_t)
                cross = sqrtm(root_t @ cov_s @ root_t)
                bures = torch.trace(cov_s + cov_t - 2 * cross)
                terms.append(gamma * (mu_s - mu_t).pow(2).sum() + bures)
    return torch.stack(terms).mean()


def maps(shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    # correlated channels, so the covariances are far from diagonal
    mix = torch.randn(shape[1], shape[1], generator=g, dtype=dtype)
    fs = torch.einsum('dc,bchw->bdhw', mix,
                      torch.randn(*shape, generator=g, dtype=dtype))
    ft = fs * 0.5 + torch.randn(*shape, generator=g, dtype=dtype)
    return fs, ft


# (9, 7) on a grid of 4: overlapping cells (gather path); (8, 12): equal,
# disjoint cells (strided path); grid 1: one cell.
@pytest.mark.parametrize('hw,grid', [((9, 7), 4), ((8, 12), 4), ((6, 5), 1)])
def test_matches_loop_with_matrix_square_roots(hw, grid):
    fs, ft = maps((2, 5, *hw), seed=1)
    fs_ref = fs.clone().requires_grad_(True)
    fs.requires_grad_(True)
    ours = wkd_feature_loss(fs, ft, grid=grid, gamma=3.0, covariance='full')
    ref = naive_full_wkd_f(fs_ref, ft, grid, 3.0, 1e-5)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
    torch.testing.assert_close(fs.grad, fs_ref.grad, rtol=1e-5, atol=1e-10)


def test_cell_statistics_match_torch_cov():
    fs, _ = maps((2, 4, 9, 7))
    mu, cov = cell_mean_covariance(fs, 2, eps=0.0)
    cell = fs[1, :, 4:9, 3:7].reshape(4, -1)  # cell (1, 1): rows 4-8, cols 3-6
    torch.testing.assert_close(mu[1, 1, 1], cell.mean(1))
    torch.testing.assert_close(cov[1, 1, 1], torch.cov(cell, correction=0))


def test_one_channel_equals_the_diagonal_form():
    fs, ft = maps((2, 1, 9, 7), seed=2)
    torch.testing.assert_close(
        wkd_feature_loss(fs, ft, grid=4, covariance='full'),
        wkd_feature_loss(fs, ft, grid=4), rtol=1e-10, atol=0)


def test_diagonal_covariances_give_the_std_term():
    g = torch.Generator().manual_seed(3)
    var_s, var_t = torch.rand(2, 3, 6, generator=g, dtype=torch.float64)
    mu_s, mu_t = torch.randn(2, 3, 6, generator=g, dtype=torch.float64)
    value = bures_wasserstein(mu_s, torch.diag_embed(var_s), mu_t,
                              torch.diag_embed(var_t), gamma=2.0)
    expected = (2.0 * (mu_s - mu_t).pow(2).sum(-1) +
                (var_s.sqrt() - var_t.sqrt()).pow(2).sum(-1))
    torch.testing.assert_close(value, expected)


@pytest.mark.parametrize('hw', [(5, 6), (4, 6)])
def test_gradcheck(hw):
    fs, ft = maps((1, 3, *hw), seed=4)
    fs.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda s: wkd_feature_loss(s, ft, grid=2, gamma=3.0,
                                   covariance='full'), (fs,))


def test_identical_maps_give_zero():
    fs, _ = maps((2, 6, 8, 8), dtype=torch.float32)
    loss = wkd_feature_loss(fs, fs.clone(), covariance='full')
    assert loss.dtype == torch.float32 and loss.item() == pytest.approx(0, abs=1e-6)


def test_rank_deficient_cells_in_float32_stay_finite():
    """Cells with fewer positions than channels: S + eps I is near-singular,
    and the float64 inside keeps its Cholesky factor and gradients finite."""
    fs, ft = maps((2, 16, 6, 6), seed=5, dtype=torch.float32)
    fs = (fs * 100).requires_grad_(True)  # 9 positions per cell, 16 channels
    loss = wkd_feature_loss(fs, ft * 100, grid=2, covariance='full')
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(fs.grad).all()


def test_errors():
    fs, ft = maps((1, 3, 8, 8))
    with pytest.raises(ValueError, match="WKD-F: covariance='diag'"):
        wkd_feature_loss(fs, ft, covariance='diag')
    with pytest.raises(ValueError, match='not positive definite'):
        wkd_feature_loss(fs, ft, grid=8, eps=0.0, covariance='full')
    ft[0, 1, 2, 2] = float('inf')
    with pytest.raises(ValueError, match='WKD-F: teacher_feat'):
        wkd_feature_loss(fs, ft, covariance='full')


def test_empty_batch_is_zero_and_differentiable():
    fs = torch.zeros(0, 3, 8, 8, requires_grad=True)
    loss = wkd_feature_loss(fs, torch.zeros(0, 3, 8, 8), covariance='full')
    loss.backward()
    assert loss.item() == 0.0 and fs.grad.shape == fs.shape
