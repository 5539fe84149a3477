"""PKD baseline as a registered MMDetection loss (math: feature_baselines)."""
import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import pkd_loss


@MODELS.register_module()
class PKDLoss(nn.Module):
    """``loss_weight * MSE(z(F_S), z(F_T))`` between (B, C, H, W) maps, z
    standardising each channel of each image over its positions; see
    :func:`wkd_det.functional.pkd_loss` (and its module docstring for how it
    differs from MMRazor's ``PKDLoss``).

    Args:
        eps (float): added to the variance before the square root.
        loss_weight (float): overall weight.
    """
    input_kind = 'features'

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0) -> None:
        super().__init__()
        if eps < 0:
            raise ValueError(f'PKDLoss: eps must be >= 0, got {eps}')
        self.eps, self.loss_weight = eps, loss_weight

    def forward(self, student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> torch.Tensor:
        """Two (B, C, H, W) maps to a scalar loss."""
        return self.loss_weight * pkd_loss(student_feat, teacher_feat,
                                           eps=self.eps)

    def extra_repr(self) -> str:
        return f'eps={self.eps}, loss_weight={self.loss_weight}'
