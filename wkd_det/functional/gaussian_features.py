"""WKD-F: 2-Wasserstein distance between Gaussian statistics of feature maps.

A (B, C, H, W) map is split into a G x G grid of cells (the cell bounds of
``adaptive_avg_pool2d``: rows floor(iH/G) to ceil((i+1)H/G)); in each cell
every channel is a Gaussian with mean mu and standard deviation
sigma = sqrt(var + eps). For diagonal covariances

    W2^2 = ||mu_S - mu_T||^2 + ||sigma_S - sigma_T||^2

and the loss is ``mean over images and cells of (gamma * ||mu_S - mu_T||^2 +
||sigma_S - sigma_T||^2)``, the norms taken over channels.

The statistics are a custom autograd function so that a full-size map is
read a few times and written once per direction, and nothing full-size is
kept for the backward pass but the input itself (the map is memory-bound:
see tools/benchmark_losses.py).
"""
import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite


def cell_averaging_matrix(size: int, grid: int, like: torch.Tensor) -> torch.Tensor:
    """(G, size) matrix whose row i averages the positions of cell i."""
    idx = torch.arange(grid, device=like.device)
    start = (idx * size) // grid
    end = torch.div((idx + 1) * size + grid - 1, grid, rounding_mode='floor')
    pos = torch.arange(size, device=like.device)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def spread_to_cells(stat: torch.Tensor, rows: torch.Tensor,
                    cols: torch.Tensor) -> torch.Tensor:
    """Adjoint of cell averaging: (B, C, G, G) to (B, C, H, W), each position
    receiving ``stat / cell size`` summed over the cells that contain it."""
    return rows.t() @ stat @ cols


class _GridStats(torch.autograd.Function):
    """Per-cell mean and variance; backward from the closed form
    d mu_c / dx = 1/n_c and d var_c / dx = 2 (x - mu_c) / n_c."""

    @staticmethod
    def forward(ctx, feat, grid):
        rows = cell_averaging_matrix(feat.size(2), grid, feat)
        cols = cell_averaging_matrix(feat.size(3), grid, feat)
        mean = rows @ feat @ cols.t()
        # Any constant per-channel shift near the data keeps E[x^2] - E[x]^2
        # from cancelling; the mean of the cell means is one at no cost.
        shift = mean.mean(dim=(2, 3), keepdim=True)
        centred_sq = F.mse_loss(feat, shift.expand_as(feat), reduction='none')
        var = (rows @ centred_sq @ cols.t() - (mean - shift)**2).clamp_min(0.0)
        ctx.save_for_backward(feat, mean, rows, cols)
        return mean, var

    @staticmethod
    def backward(ctx, grad_mean, grad_var):
        feat, mean, rows, cols = ctx.saved_tensors
        grad_var2 = 2.0 * grad_var
        offset = spread_to_cells(grad_mean - grad_var2 * mean, rows, cols)
        scale = spread_to_cells(grad_var2, rows, cols)
        return torch.addcmul(offset, feat, scale), None


def gaussian_grid_stats(feat: torch.Tensor, grid: int = 4,
                        eps: float = 1e-5) -> tuple:
    """Per-cell, per-channel mean and standard deviation.

    Computed in at least float32 from cell-averaging matmuls (a pooled
    mean of x and of (x - shift)^2 per cell, no loop over cells).

    Args:
        feat (Tensor): (B, C, H, W) feature map.
        grid (int): G, cells per side.
        eps (float): added to the variance before the square root.

    Returns:
        tuple[Tensor, Tensor]: mu and sigma, each (B, C, G, G).
    """
    # autocast would run the cell-averaging matmuls in half precision
    with torch.autocast(device_type=feat.device.type, enabled=False):
        mean, var = _GridStats.apply(at_least_float32(feat), grid)
        return mean, torch.sqrt(var + eps)


def wkd_feature_loss(student_feat: torch.Tensor,
                     teacher_feat: torch.Tensor,
                     grid: int = 4,
                     gamma: float = 2.0,
                     eps: float = 1e-5) -> torch.Tensor:
    """WKD-F loss between two (B, C, H, W) maps of the same shape, a scalar
    (see module docstring); 0 for an empty batch.

    Non-finite inputs are detected on the statistics (a NaN or inf in a map
    makes its cell's mean or variance non-finite), which costs no extra pass
    over the maps.
    """
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'WKD-F: student map {tuple(student_feat.shape)} and '
                         f'teacher map {tuple(teacher_feat.shape)} differ; '
                         'project the student to the teacher channels and '
                         'use levels of the same stride')
    if student_feat.size(0) == 0:
        return student_feat.sum() * 0.0
    mu_s, sigma_s = gaussian_grid_stats(student_feat, grid, eps)
    mu_t, sigma_t = gaussian_grid_stats(teacher_feat, grid, eps)
    check_finite('WKD-F', student_feat=mu_s + sigma_s,
                 teacher_feat=mu_t + sigma_t)
    mean_term = (mu_s - mu_t).pow(2).sum(dim=1)
    std_term = (sigma_s - sigma_t).pow(2).sum(dim=1)
    return (gamma * mean_term + std_term).mean()
