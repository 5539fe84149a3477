"""WKD-F: 2-Wasserstein distance between Gaussian statistics of feature maps.

A (B, C, H, W) map is split into a G x G grid of cells (the cell bounds of
``adaptive_avg_pool2d``); in each cell every channel is a Gaussian with mean
mu and standard deviation sigma = sqrt(var + eps). For diagonal covariances

    W2^2 = ||mu_S - mu_T||^2 + ||sigma_S - sigma_T||^2

and the loss is ``mean over images and cells of (gamma * ||mu_S - mu_T||^2 +
||sigma_S - sigma_T||^2)``, the norms taken over channels.
"""
import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite


def gaussian_grid_stats(feat: torch.Tensor, grid: int = 4,
                        eps: float = 1e-5) -> tuple:
    """Per-cell, per-channel mean and standard deviation.

    Both come from two pooled ops (means of x and of x^2 per cell), in at
    least float32. The per-channel mean of the whole map is subtracted first
    (a constant shift, detached) so ``E[x^2] - E[x]^2`` does not cancel.

    Args:
        feat (Tensor): (B, C, H, W) feature map.
        grid (int): G, cells per side.
        eps (float): added to the variance before the square root.

    Returns:
        tuple[Tensor, Tensor]: mu and sigma, each (B, C, G, G).
    """
    feat = at_least_float32(feat)
    shift = feat.detach().mean(dim=(2, 3), keepdim=True)
    centred = feat - shift
    mean = F.adaptive_avg_pool2d(centred, grid)
    mean_sq = F.adaptive_avg_pool2d(centred * centred, grid)
    var = (mean_sq - mean * mean).clamp_min(0.0)
    return mean + shift, torch.sqrt(var + eps)


def wkd_feature_loss(student_feat: torch.Tensor,
                     teacher_feat: torch.Tensor,
                     grid: int = 4,
                     gamma: float = 2.0,
                     eps: float = 1e-5) -> torch.Tensor:
    """WKD-F loss between two (B, C, H, W) maps of the same shape, a scalar
    (see module docstring); 0 for an empty batch."""
    check_finite('WKD-F', student_feat=student_feat, teacher_feat=teacher_feat)
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'WKD-F: student map {tuple(student_feat.shape)} and '
                         f'teacher map {tuple(teacher_feat.shape)} differ; '
                         'project the student to the teacher channels and '
                         'use levels of the same stride')
    if student_feat.size(0) == 0:
        return student_feat.sum() * 0.0
    mu_s, sigma_s = gaussian_grid_stats(student_feat, grid, eps)
    mu_t, sigma_t = gaussian_grid_stats(teacher_feat, grid, eps)
    mean_term = (mu_s - mu_t).pow(2).sum(dim=1)
    std_term = (sigma_s - sigma_t).pow(2).sum(dim=1)
    return (gamma * mean_term + std_term).mean()
