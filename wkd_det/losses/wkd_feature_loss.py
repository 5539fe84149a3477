"""WKD-F as a registered MMDetection loss (math: functional.gaussian_features)."""
import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import wkd_feature_loss


@MODELS.register_module()
class WKDFLoss(nn.Module):
    """Wasserstein distance between per-cell Gaussian feature statistics.

    ``loss = loss_weight * mean(gamma * ||mu_S - mu_T||^2 +
    ||sigma_S - sigma_T||^2)``, see :func:`wkd_det.functional.wkd_feature_loss`.

    Args:
        grid (int): G, cells per side of the statistics grid.
        gamma (float): weight of the mean term.
        eps (float): added to the variance before the square root.
        loss_weight (float): overall weight, w_f.
    """
    input_kind = 'features'

    def __init__(self, grid: int = 4, gamma: float = 2.0, eps: float = 1e-5,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.grid, self.gamma, self.eps = grid, gamma, eps
        self.loss_weight = loss_weight

    def forward(self, student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> torch.Tensor:
        """Two (B, C, H, W) maps to a scalar loss."""
        return self.loss_weight * wkd_feature_loss(
            student_feat, teacher_feat, grid=self.grid, gamma=self.gamma,
            eps=self.eps)

    def extra_repr(self) -> str:
        return (f'grid={self.grid}, gamma={self.gamma}, eps={self.eps}, '
                f'loss_weight={self.loss_weight}')
