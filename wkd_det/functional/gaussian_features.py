"""WKD-F: 2-Wasserstein distance between Gaussian statistics of feature maps.

A (B, C, H, W) map is split into a G x G grid of cells (the cell bounds of
``adaptive_avg_pool2d``: rows floor(iH/G) to ceil((i+1)H/G)); in each cell
every channel is a Gaussian with mean mu and standard deviation
sigma = sqrt(var + eps). For diagonal covariances

    W2^2 = ||mu_S - mu_T||^2 + ||sigma_S - sigma_T||^2

and the loss is ``mean over images and cells of (gamma * ||mu_S - mu_T||^2 +
||sigma_S - sigma_T||^2)``, the norms taken over channels. The full-covariance
(Bures) form is an option, in :mod:`.gaussian_covariance`.

Detection options: ``cell_size`` sizes the grid per map (G = round(min(H,
W) / cell_size), at least 1) instead of one G for every FPN level, and
``normalize`` divides the loss by the teacher's own statistics energy,
``mean over cells of (gamma * ||mu_T||^2 + ||sigma_T||^2)`` (no gradient),
so the loss is a relative W2 and levels whose raw W2 differ by orders of
magnitude weigh alike. ``standardize`` first shifts and scales every channel
of every image to zero mean and unit variance over its H x W positions (as
PKD does, :func:`.feature_baselines.standardize_channels`), so the cell
Gaussians compare where a channel fires, not its scale or offset, which a
student's FPN need not share with its teacher's. With ``standardize`` and
``normalize`` the teacher energy is about ``gamma * C`` and one-position
cells (``cell_size=1``, sigma = sqrt(eps)) turn the loss into PKD's MSE: the
Gaussian cells are its distributional, coarser-grained form.

``window`` replaces the grid by a window x window neighbourhood of every
position (stride 1, clipped at the map's border): one Gaussian per position,
so the statistics keep the map's resolution, as PKD's per-position match
does, while each still describes a small region (its mean and spread).

The grid statistics are a custom autograd function that walks the maps in
blocks of whole channels (a few MB each): the full-size intermediates (the
centred square, the spread gradients) stay in cache, so a map is read from
memory about once per direction and its gradient written once, and nothing
full-size is kept for the backward pass but the input itself. The maps are
memory-bound: see tools/benchmark_losses.py. The window statistics are
plain pooling ops under autograd.
"""
from typing import Optional

import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite
from .feature_baselines import standardize_channels
from .gaussian_covariance import bures_wasserstein, cell_mean_covariance
from .grid_cells import cell_averaging_matrix, uniform_cells

COVARIANCE_FORMS = ('diagonal', 'full')

# Elements per block of channels (4 MB in float32): large enough that the
# per-block op overhead vanishes, small enough to stay in cache.
_BLOCK_ELEMENTS = 1 << 20


def _blocks(num: int, plane: int):
    """Slices of ``num`` planes of ``plane`` elements, ~_BLOCK_ELEMENTS each."""
    step = max(1, _BLOCK_ELEMENTS // plane)
    return (slice(i, i + step) for i in range(0, num, step))


def _cell_mean(x: torch.Tensor, grid: int) -> torch.Tensor:
    """(n, H, W) to (n, G, G) cell means: a reshaped mean for uniform cells,
    adaptive average pooling (overlapping cell bounds) otherwise."""
    n, h, w = x.shape
    if uniform_cells(h, w, grid):
        return x.view(n, grid, h // grid, grid, w // grid).mean(dim=(2, 4))
    return F.adaptive_avg_pool2d(x, grid)


def _spread_addcmul(cell_grads: torch.Tensor, x: torch.Tensor,
                    out: torch.Tensor, spread_mats: Optional[tuple]) -> None:
    """``out = spread(cell_grads[:, 0]) + x * spread(cell_grads[:, 1])`` for
    (n, 2, G, G) ``cell_grads`` and (n, H, W) ``x``, where spread, the adjoint
    of :func:`_cell_mean`, gives each position the sum over the cells that
    contain it of the cell's value / cell size: a broadcast for uniform cells
    (``spread_mats`` None), ``rows^T @ . @ cols`` with ``spread_mats =
    (rows^T, cols)`` otherwise."""
    if spread_mats is None:
        n, h, w = x.shape
        grid = cell_grads.size(-1)
        shape = (n, grid, h // grid, grid, w // grid)
        parts = cell_grads[:, :, :, None, :, None] / (shape[2] * shape[4])
        torch.addcmul(parts[:, 0], x.view(shape), parts[:, 1],
                      out=out.view(shape))
    else:
        rows_t, cols = spread_mats
        offset, scale = (rows_t @ cell_grads @ cols).unbind(1)
        torch.addcmul(offset, x, scale, out=out)


class _GridStats(torch.autograd.Function):
    """Per-cell mean and variance of a (N, H, W) stack of planes; backward
    from the closed form d mu_c / dx = 1/n_c, d var_c / dx = 2 (x - mu_c) / n_c
    summed over the cells c that contain x."""

    @staticmethod
    def forward(ctx, planes, grid):
        num, h, w = planes.shape
        mean = planes.new_empty(num, grid, grid)
        var = torch.empty_like(mean)
        for block in _blocks(num, h * w):
            x = planes[block]
            m = _cell_mean(x, grid)
            # Any constant shift per plane near the data keeps
            # E[x^2] - E[x]^2 from cancelling; the mean of the cell means is
            # one at no cost.
            shift = m.mean(dim=(1, 2), keepdim=True)
            sq = _cell_mean((x - shift).square_(), grid)
            mean[block] = m
            var[block] = (sq - (m - shift)**2).clamp_min_(0.0)
        ctx.save_for_backward(planes, mean)
        return mean, var

    @staticmethod
    def backward(ctx, grad_mean, grad_var):
        planes, mean = ctx.saved_tensors
        num, h, w = planes.shape
        grid = mean.size(-1)
        spread_mats = None if uniform_cells(h, w, grid) else (
            cell_averaging_matrix(h, grid, planes).t(),
            cell_averaging_matrix(w, grid, planes))
        # d/dx = spread(grad_mean - 2 grad_var mu) + x * spread(2 grad_var)
        grad_var2 = 2.0 * grad_var
        cell_grads = torch.stack([grad_mean - grad_var2 * mean, grad_var2], 1)
        grad = torch.empty_like(planes)
        for block in _blocks(num, h * w):
            _spread_addcmul(cell_grads[block], planes[block], grad[block],
                            spread_mats)
        return grad, None


def gaussian_grid_stats(feat: torch.Tensor, grid: int = 4,
                        eps: float = 1e-5) -> tuple:
    """Per-cell, per-channel mean and standard deviation.

    Computed in at least float32 from a pooled mean of x and of
    (x - shift)^2 per cell (adaptive-pooling cell bounds; no loop over
    cells).

    Args:
        feat (Tensor): (B, C, H, W) feature map.
        grid (int): G, cells per side.
        eps (float): added to the variance before the square root.

    Returns:
        tuple[Tensor, Tensor]: mu and sigma, each (B, C, G, G).
    """
    # autocast would pool and spread in half precision
    with torch.autocast(device_type=feat.device.type, enabled=False):
        b, c, h, w = feat.shape
        mean, var = _GridStats.apply(
            at_least_float32(feat).reshape(b * c, h, w), grid)
        return (mean.view(b, c, grid, grid),
                torch.sqrt(var + eps).view(b, c, grid, grid))


def gaussian_window_stats(feat: torch.Tensor, window: int,
                          eps: float = 1e-5) -> tuple:
    """Per-position, per-channel mean and standard deviation over the
    ``window`` x ``window`` neighbourhood of each position (odd ``window``,
    stride 1; at the border the window is clipped to the map), in at least
    float32.

    Args:
        feat (Tensor): (B, C, H, W) feature map.
        window (int): odd side of the neighbourhood.
        eps (float): added to the variance before the square root.

    Returns:
        tuple[Tensor, Tensor]: mu and sigma, each (B, C, H, W).
    """
    def local_mean(x):
        return F.avg_pool2d(x, window, stride=1, padding=window // 2,
                            count_include_pad=False)

    with torch.autocast(device_type=feat.device.type, enabled=False):
        x = at_least_float32(feat)
        mean = local_mean(x)
        # a shift per plane keeps E[x^2] - E[x]^2 from cancelling
        shift = mean.mean(dim=(2, 3), keepdim=True).detach()
        var = local_mean((x - shift).square()) - (mean - shift).square()
        return mean, torch.sqrt(var.clamp_min(0.0) + eps)


def check_window(window: Optional[int]) -> None:
    """Raise ``ValueError`` unless ``window`` is None or an odd int >= 1."""
    if window is not None and not (isinstance(window, int) and window >= 1
                                   and window % 2 == 1):
        raise ValueError(f'WKD-F: window must be an odd int >= 1 or None, '
                         f'got {window!r}')


def check_covariance(covariance: str) -> None:
    """Raise ``ValueError`` unless ``covariance`` is a WKD-F covariance form."""
    if covariance not in COVARIANCE_FORMS:
        raise ValueError(f'WKD-F: covariance={covariance!r}; expected one of '
                         f'{COVARIANCE_FORMS}')


def grid_for(height: int, width: int, grid: int,
             cell_size: Optional[int] = None) -> int:
    """G of a (height, width) map: ``grid``, or with ``cell_size`` the number
    of cells of about that many positions along the shorter side (>= 1)."""
    if cell_size is None:
        return grid
    return max(1, round(min(height, width) / cell_size))


def wkd_feature_loss(student_feat: torch.Tensor,
                     teacher_feat: torch.Tensor,
                     grid: int = 4,
                     gamma: float = 2.0,
                     eps: float = 1e-5,
                     covariance: str = 'diagonal',
                     cell_size: Optional[int] = None,
                     normalize: bool = False,
                     standardize: bool = False,
                     window: Optional[int] = None) -> torch.Tensor:
    """WKD-F loss between two (B, C, H, W) maps of the same shape, a scalar
    (see module docstring); 0 for an empty batch.

    ``covariance='full'`` takes C x C covariances per cell and the Bures
    term instead of ``||sigma_S - sigma_T||^2`` (see
    :mod:`.gaussian_covariance`; O(C^3) per cell, computed in float64).
    ``window`` takes a Gaussian per position over its neighbourhood
    (:func:`gaussian_window_stats`) in place of the grid's cells.

    Non-finite inputs are detected on the statistics (a NaN or inf in a map
    makes its cell's mean or variance non-finite), which costs no extra pass
    over the maps.
    """
    check_covariance(covariance)
    check_window(window)
    if window is not None and (covariance != 'diagonal'
                               or cell_size is not None):
        raise ValueError('WKD-F: window takes the place of the grid and has '
                         'diagonal covariances; leave cell_size unset and '
                         "covariance='diagonal'")
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'WKD-F: student map {tuple(student_feat.shape)} and '
                         f'teacher map {tuple(teacher_feat.shape)} differ; '
                         'project the student to the teacher channels and '
                         'use levels of the same stride')
    if student_feat.size(0) == 0:
        return student_feat.sum() * 0.0
    grid = grid_for(*student_feat.shape[-2:], grid, cell_size)
    if standardize:
        student_feat = standardize_channels(at_least_float32(student_feat))
        teacher_feat = standardize_channels(at_least_float32(teacher_feat))
    if covariance == 'diagonal':
        if window is None:
            mu_s, sigma_s = gaussian_grid_stats(student_feat, grid, eps)
            mu_t, sigma_t = gaussian_grid_stats(teacher_feat, grid, eps)
        else:
            mu_s, sigma_s = gaussian_window_stats(student_feat, window, eps)
            mu_t, sigma_t = gaussian_window_stats(teacher_feat, window, eps)
        check_finite('WKD-F', student_feat=mu_s + sigma_s,
                     teacher_feat=mu_t + sigma_t)
        per_cell = (gamma * (mu_s - mu_t).pow(2).sum(dim=1) +
                    (sigma_s - sigma_t).pow(2).sum(dim=1))
    else:
        mu_s, cov_s = cell_mean_covariance(student_feat, grid, eps)
        mu_t, cov_t = cell_mean_covariance(teacher_feat, grid, eps)
        check_finite('WKD-F', student_feat=mu_s + cov_s.diagonal(0, -2, -1),
                     teacher_feat=mu_t + cov_t.diagonal(0, -2, -1))
        per_cell = bures_wasserstein(mu_s, cov_s, mu_t, cov_t, gamma)
    loss = per_cell.mean()
    if normalize:
        if covariance == 'diagonal':  # (B, C, G, G) or (B, C, H, W)
            energy = gamma * mu_t.pow(2).sum(1) + sigma_t.pow(2).sum(1)
        else:  # (B, G, G, C) means, (B, G, G, C, C) covariances
            energy = gamma * mu_t.pow(2).sum(-1) + cov_t.diagonal(
                0, -2, -1).sum(-1)
        loss = loss / energy.mean().detach().clamp_min(1e-12)
    dtype = torch.promote_types(student_feat.dtype, torch.float32)
    return loss.to(dtype)
