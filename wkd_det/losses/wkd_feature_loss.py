"""WKD-F as a registered MMDetection loss (math: functional.gaussian_features)."""
from typing import Optional

import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import check_covariance, check_window, wkd_feature_loss


@MODELS.register_module()
class WKDFLoss(nn.Module):
    """Wasserstein distance between per-cell Gaussian feature statistics.

    ``loss = loss_weight * mean(gamma * ||mu_S - mu_T||^2 +
    ||sigma_S - sigma_T||^2)``, or the Bures term in place of the std term
    with ``covariance='full'``; see :func:`wkd_det.functional.wkd_feature_loss`.

    Args:
        grid (int): G, cells per side of the statistics grid.
        cell_size (int, optional): instead of one G for every level, cells
            of about this many positions along the shorter side of each
            map (G = round(min(H, W) / cell_size), at least 1).
        normalize (bool): divide by the teacher's statistics energy, so the
            loss is a relative W2 and FPN levels weigh alike.
        standardize (bool): standardise every channel of every image over
            its positions first (as PKD), so the statistics compare where
            channels fire, not their scale.
        window (int, optional): in place of the grid, one Gaussian per
            position over its window x window neighbourhood (odd, stride
            1), so the statistics keep the map's resolution.
        gamma (float): weight of the mean term.
        eps (float): added to the variance (to the covariance diagonal).
        covariance (str): 'diagonal' (per-channel std, the default) or
            'full' (C x C covariance per cell, Bures term; O(C^3) per cell).
        loss_weight (float): overall weight, w_f.
    """
    input_kind = 'features'

    def __init__(self, grid: int = 4, gamma: float = 2.0, eps: float = 1e-5,
                 covariance: str = 'diagonal', cell_size: Optional[int] = None,
                 normalize: bool = False, standardize: bool = False,
                 window: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_covariance(covariance)
        check_window(window)
        if cell_size is not None and not cell_size >= 1:
            raise ValueError(f'WKD-F: cell_size must be >= 1, got {cell_size}')
        self.grid, self.gamma, self.eps = grid, gamma, eps
        self.covariance, self.cell_size = covariance, cell_size
        self.normalize, self.standardize = normalize, standardize
        self.window = window
        self.loss_weight = loss_weight

    def forward(self, student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> torch.Tensor:
        """Two (B, C, H, W) maps to a scalar loss."""
        return self.loss_weight * wkd_feature_loss(
            student_feat, teacher_feat, grid=self.grid, gamma=self.gamma,
            eps=self.eps, covariance=self.covariance, cell_size=self.cell_size,
            normalize=self.normalize, standardize=self.standardize,
            window=self.window)

    def extra_repr(self) -> str:
        return (f'grid={self.grid}, gamma={self.gamma}, eps={self.eps}, '
                f'covariance={self.covariance!r}, cell_size={self.cell_size}, '
                f'normalize={self.normalize}, standardize={self.standardize}, '
                f'window={self.window}, loss_weight={self.loss_weight}')
