"""Gaussian grid statistics and WKD-F against a loop-over-cells reference."""
import math

import pytest
import torch

from wkd_det.functional import (gaussian_features, gaussian_grid_stats,
                                gaussian_window_stats, wkd_feature_loss)


def naive_grid_stats(feat, grid, eps):
    """Loop over cells with adaptive-pooling bounds [floor(iH/G), ceil((i+1)H/G))."""
    b, c, h, w = feat.shape
    mu = feat.new_zeros(b, c, grid, grid)
    sigma = feat.new_zeros(b, c, grid, grid)
    for i in range(grid):
        r0, r1 = (i * h) // grid, math.ceil((i + 1) * h / grid)
        for j in range(grid):
            c0, c1 = (j * w) // grid, math.ceil((j + 1) * w / grid)
            cell = feat[:, :, r0:r1, c0:c1].flatten(2)
            mu[:, :, i, j] = cell.mean(-1)
            sigma[:, :, i, j] = torch.sqrt(cell.var(-1, unbiased=False) + eps)
    return mu, sigma


def naive_wkd_f(fs, ft, grid, gamma, eps):
    mu_s, sd_s = naive_grid_stats(fs, grid, eps)
    mu_t, sd_t = naive_grid_stats(ft, grid, eps)
    per_cell = (gamma * ((mu_s - mu_t)**2).sum(1) + ((sd_s - sd_t)**2).sum(1))
    return per_cell.mean()


def maps(shape, seed=0, dtype=torch.float64, offset=0.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=dtype) + offset,
            torch.randn(*shape, generator=g, dtype=dtype) * 2 + offset)


@pytest.mark.parametrize('shape,grid', [((2, 3, 8, 8), 4), ((2, 4, 13, 7), 4),
                                        ((1, 5, 9, 11), 1), ((2, 2, 5, 6), 3)])
def test_grid_stats_match_loop_over_cells(shape, grid):
    x, _ = maps(shape)
    mu, sigma = gaussian_grid_stats(x, grid, eps=1e-5)
    mu_ref, sigma_ref = naive_grid_stats(x, grid, 1e-5)
    torch.testing.assert_close(mu, mu_ref, rtol=1e-5, atol=1e-12)
    torch.testing.assert_close(sigma, sigma_ref, rtol=1e-5, atol=0)


@pytest.mark.parametrize('gamma,grid', [(2.0, 4), (8.0, 1)])
def test_wkd_f_matches_naive(gamma, grid):
    fs, ft = maps((2, 6, 12, 10), seed=1)
    ours = wkd_feature_loss(fs, ft, grid=grid, gamma=gamma)
    torch.testing.assert_close(ours, naive_wkd_f(fs, ft, grid, gamma, 1e-5),
                               rtol=1e-5, atol=0)


def test_float32_no_cancellation_with_large_means():
    """A large common offset must not wreck the variance in float32."""
    x, _ = maps((1, 4, 16, 16), seed=2, dtype=torch.float32, offset=1e3)
    _, sigma = gaussian_grid_stats(x, 2)
    _, sigma_ref = naive_grid_stats(x.double(), 2, 1e-5)
    torch.testing.assert_close(sigma.double(), sigma_ref, rtol=1e-4, atol=0)


# (5, 6) on a grid of 2 has overlapping cells (pooling path); (4, 6) equal
# disjoint ones (reshape path).
@pytest.mark.parametrize('hw', [(5, 6), (4, 6)])
def test_gradcheck(hw):
    fs, ft = maps((1, 2, *hw), seed=3)
    fs.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda s: wkd_feature_loss(s, ft, grid=2, gamma=3.0), (fs,))


@pytest.mark.parametrize('hw', [(9, 7), (8, 12)])
def test_blocks_of_channels_match_naive(hw, monkeypatch):
    """Loss and gradient when the planes are walked in many small blocks
    (a last block shorter than the others), on both cell layouts."""
    monkeypatch.setattr(gaussian_features, '_BLOCK_ELEMENTS', 150)
    fs, ft = maps((2, 5, *hw), seed=4)
    fs_ref = fs.clone().requires_grad_(True)
    fs.requires_grad_(True)
    ours = wkd_feature_loss(fs, ft, grid=4, gamma=2.0)
    ref = naive_wkd_f(fs_ref, ft, 4, 2.0, 1e-5)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
    torch.testing.assert_close(fs.grad, fs_ref.grad, rtol=1e-5, atol=1e-12)


def test_identical_maps_give_zero():
    fs, _ = maps((2, 3, 8, 8), dtype=torch.float32)
    assert wkd_feature_loss(fs, fs.clone()).item() == 0.0


def test_empty_batch_is_zero_and_differentiable():
    fs = torch.zeros(0, 3, 8, 8, requires_grad=True)
    loss = wkd_feature_loss(fs, torch.zeros(0, 3, 8, 8))
    loss.backward()
    assert loss.item() == 0.0 and fs.grad.shape == fs.shape


def test_errors():
    fs, ft = maps((1, 3, 8, 8))
    with pytest.raises(ValueError, match='WKD-F: student map'):
        wkd_feature_loss(fs, ft[:, :, :4])
    ft[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='WKD-F: teacher_feat'):
        wkd_feature_loss(fs, ft)


def test_bfloat16_inputs_computed_in_float32():
    fs, ft = maps((1, 3, 8, 8), dtype=torch.float32)
    loss = wkd_feature_loss(fs.bfloat16(), ft.bfloat16())
    assert loss.dtype == torch.float32


@pytest.mark.parametrize('hw,cell_size,grid', [((12, 10), 4, 2), ((48, 40), 8, 5),
                                               ((3, 3), 8, 1)])
def test_cell_size_sizes_the_grid_per_map(hw, cell_size, grid):
    """G = round(min(H, W) / cell_size), at least 1: fine cells on large
    maps, one cell on tiny ones."""
    fs, ft = maps((1, 3, *hw), seed=2)
    torch.testing.assert_close(
        wkd_feature_loss(fs, ft, cell_size=cell_size, gamma=3.0),
        naive_wkd_f(fs, ft, grid, 3.0, 1e-5), rtol=1e-5, atol=0)


@pytest.mark.parametrize('covariance', ['diagonal', 'full'])
def test_normalize_divides_by_the_teachers_energy(covariance):
    """The normalised loss is W2 over the teacher's gamma ||mu||^2 +
    ||sigma||^2 (trace of its covariance for 'full'), so scaling both maps
    leaves it unchanged (up to eps) while the raw W2 scales with the
    square."""
    fs, ft = maps((2, 4, 8, 8), seed=3, offset=0.5)
    mu_t, sd_t = naive_grid_stats(ft, 2, 1e-5)
    energy = (2.0 * (mu_t**2).sum(1) + (sd_t**2).sum(1)).mean()
    ours = wkd_feature_loss(fs, ft, grid=2, normalize=True)
    torch.testing.assert_close(ours, naive_wkd_f(fs, ft, 2, 2.0, 1e-5) / energy,
                               rtol=1e-5, atol=0)
    scaled = wkd_feature_loss(100 * fs, 100 * ft, grid=2, eps=0.0,
                              normalize=True, covariance=covariance)
    plain = wkd_feature_loss(fs, ft, grid=2, eps=0.0, normalize=True,
                             covariance=covariance)
    torch.testing.assert_close(scaled, plain, rtol=1e-6, atol=0)


def naive_standardize(feat):
    """Each channel of each image to zero mean, unit population variance."""
    flat = feat.flatten(2)
    mean = flat.mean(-1)[..., None, None]
    std = flat.var(-1, unbiased=False).add(1e-6).sqrt()[..., None, None]
    return (feat - mean) / std


def test_standardize_compares_standardised_maps():
    """The cell statistics of the standardised maps, by the naive loop."""
    fs, ft = maps((2, 4, 12, 10), seed=5)
    torch.testing.assert_close(
        wkd_feature_loss(fs, ft, grid=3, gamma=2.0, standardize=True),
        naive_wkd_f(naive_standardize(fs), naive_standardize(ft), 3, 2.0,
                    1e-5), rtol=1e-5, atol=1e-8)


def test_standardize_ignores_channel_scale_and_offset():
    """a * x + b per channel (a > 0) of the student leaves the loss as is;
    without standardize it does not."""
    fs, ft = maps((2, 4, 8, 8), seed=6)
    a = torch.rand(1, 4, 1, 1, dtype=fs.dtype) * 3 + 0.5
    b = torch.randn(1, 4, 1, 1, dtype=fs.dtype) * 5
    for standardize in (True, False):
        plain, moved = (wkd_feature_loss(s, ft, grid=2, standardize=standardize)
                        for s in (fs, a * fs + b))
        assert torch.isclose(plain, moved, rtol=1e-4).item() is standardize


def test_one_position_cells_of_standardised_maps_give_pkd():
    """standardize + normalize with cell_size=1: the MSE of the
    standardised maps (PKD), up to the eps terms."""
    fs, ft = maps((2, 6, 8, 8), seed=7)
    mse = (naive_standardize(fs) - naive_standardize(ft)).pow(2).mean()
    torch.testing.assert_close(
        wkd_feature_loss(fs, ft, cell_size=1, gamma=2.0, normalize=True,
                         standardize=True), mse, rtol=1e-4, atol=0)


def naive_window_stats(feat, window, eps):
    """Loop over positions: mean and std of the window around each one,
    clipped to the map."""
    b, c, h, w = feat.shape
    r = window // 2
    mu, sigma = feat.new_zeros(b, c, h, w), feat.new_zeros(b, c, h, w)
    for i in range(h):
        for j in range(w):
            patch = feat[:, :, max(0, i - r):i + r + 1,
                         max(0, j - r):j + r + 1].flatten(2)
            mu[:, :, i, j] = patch.mean(-1)
            sigma[:, :, i, j] = torch.sqrt(patch.var(-1, unbiased=False) + eps)
    return mu, sigma


@pytest.mark.parametrize('shape,window', [((2, 3, 7, 9), 3), ((1, 2, 6, 5), 5),
                                          ((1, 2, 4, 4), 1)])
def test_window_stats_match_loop_over_positions(shape, window):
    x, _ = maps(shape, seed=8, offset=50.0)
    mu, sigma = gaussian_window_stats(x, window, eps=1e-5)
    mu_ref, sigma_ref = naive_window_stats(x, window, 1e-5)
    torch.testing.assert_close(mu, mu_ref, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(sigma, sigma_ref, rtol=1e-6, atol=1e-9)


def test_window_loss_matches_naive_and_gradcheck():
    fs, ft = maps((2, 3, 6, 7), seed=9)
    mu_s, sd_s = naive_window_stats(fs, 3, 1e-5)
    mu_t, sd_t = naive_window_stats(ft, 3, 1e-5)
    energy = (2.0 * mu_t.pow(2).sum(1) + sd_t.pow(2).sum(1)).mean()
    ref = (2.0 * (mu_s - mu_t).pow(2).sum(1) +
           (sd_s - sd_t).pow(2).sum(1)).mean() / energy
    torch.testing.assert_close(
        wkd_feature_loss(fs, ft, window=3, gamma=2.0, normalize=True), ref,
        rtol=1e-6, atol=0)
    fs.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda s: wkd_feature_loss(s, ft, window=3, gamma=3.0), (fs,))


def test_window_of_one_position_on_standardised_maps_gives_pkd():
    fs, ft = maps((2, 6, 8, 8), seed=7)
    torch.testing.assert_close(
        wkd_feature_loss(fs, ft, cell_size=1, normalize=True,
                         standardize=True),
        wkd_feature_loss(fs, ft, window=1, normalize=True, standardize=True),
        rtol=1e-6, atol=0)


@pytest.mark.parametrize('options, match', [
    (dict(window=2), 'odd int'), (dict(window=0), 'odd int'),
    (dict(window=3, cell_size=4), 'leave cell_size unset'),
    (dict(window=3, covariance='full'), 'leave cell_size unset')])
def test_window_errors(options, match):
    fs, ft = maps((1, 3, 8, 8))
    with pytest.raises(ValueError, match=match):
        wkd_feature_loss(fs, ft, **options)
