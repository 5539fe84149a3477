"""WKD-F with full covariances: the Bures form of the Gaussian 2-Wasserstein
distance, per cell of a G x G grid (the cells of :mod:`.grid_cells`).

For Gaussians N(mu_S, S_S) and N(mu_T, S_T) over the C channels

    W2^2 = ||mu_S - mu_T||^2 + tr(S_S) + tr(S_T) - 2 tr((S_T^1/2 S_S S_T^1/2)^1/2)

The last trace equals the nuclear norm of L_S^T L_T for any factors
S = L L^T (its singular values squared are the eigenvalues of S_S S_T), so it
is computed from two Cholesky factors and a singular-value sum: no matrix
square root, and gradients that stay finite for repeated eigenvalues.
Covariances are C x C per cell and image; they and the Bures term are
computed in float64, as S + eps I is near-singular whenever a cell has fewer
positions than channels.
"""
import torch

from .grid_cells import cell_windows, uniform_cells


def _cell_columns(feat: torch.Tensor, grid: int) -> tuple:
    """The positions of every cell as float64 columns: (B, G, G, C, N), N the
    largest cell size, padding columns zero, and the (G, G, 1) cell sizes.
    One strided copy when G divides H and W, a gather of the (overlapping)
    cell windows otherwise."""
    b, c, h, w = feat.shape
    if uniform_cells(h, w, grid):
        win = feat.view(b, c, grid, h // grid, grid, w // grid)
        count = feat.new_full((grid, grid, 1), h * w // grid**2,
                              dtype=torch.float64)
        mask = None
    else:
        rows, row_in = cell_windows(h, grid, feat.device)
        cols, col_in = cell_windows(w, grid, feat.device)
        win = feat[:, :, rows][..., cols]               # (B, C, G, R, G, Q)
        mask = (row_in[:, None, :, None] & col_in[None, :, None, :])
        mask = mask.flatten(2)[:, :, None, :].to(torch.float64)
        count = mask.sum(-1)
    win = win.permute(0, 2, 4, 1, 3, 5)
    # one copy to the (B, G, G, C, R, Q) layout and to float64
    win = win.new_empty(win.shape, dtype=torch.float64).copy_(win)
    win = win.view(b, grid, grid, c, -1)
    return (win if mask is None else win * mask), count


def cell_mean_covariance(feat: torch.Tensor, grid: int,
                         eps: float = 1e-5) -> tuple:
    """Per-cell channel mean and covariance (1/n normalised) plus eps I.

    All cells at once, in float64 (where E[x x^T] - mu mu^T does not cancel):
    the cells as columns, one sum and one batched Gram matmul.

    Args:
        feat (Tensor): (B, C, H, W) feature map.
        grid (int): G, cells per side.
        eps (float): added to the diagonal of every covariance.

    Returns:
        tuple[Tensor, Tensor]: mu (B, G, G, C) and S (B, G, G, C, C), float64.
    """
    cols, count = _cell_columns(feat, grid)
    mu = cols.sum(-1) / count
    second = cols @ cols.transpose(-1, -2) / count[..., None]
    cov = second - mu[..., :, None] * mu[..., None, :]
    eye = torch.eye(feat.size(1), dtype=cov.dtype, device=cov.device)
    return mu, cov + eps * eye


def _cholesky(cov: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factors of a stack of covariances, or a ValueError."""
    factor, info = torch.linalg.cholesky_ex(cov)
    if bool((info > 0).any()):
        raise ValueError('WKD-F: a cell covariance is not positive definite '
                         "(covariance='full' needs eps > 0)")
    return factor


def bures_wasserstein(mu_s: torch.Tensor, cov_s: torch.Tensor,
                      mu_t: torch.Tensor, cov_t: torch.Tensor,
                      gamma: float = 1.0) -> torch.Tensor:
    """``gamma * ||mu_S - mu_T||^2 + Bures(S_S, S_T)^2`` for (..., C) means
    and (..., C, C) positive definite covariances; shape (...)."""
    fidelity = torch.linalg.matrix_norm(
        _cholesky(cov_s).mT @ _cholesky(cov_t),
        ord='nuc')
    bures = (cov_s.diagonal(dim1=-2, dim2=-1).sum(-1) +
             cov_t.diagonal(dim1=-2, dim2=-1).sum(-1) - 2 * fidelity)
    # rounding can leave identical Gaussians a hair below zero
    return gamma * (mu_s - mu_t).pow(2).sum(-1) + bures.clamp_min(0.0)
