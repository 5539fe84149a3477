"""FitNet baseline as a registered MMDetection loss (math: functional.divergences)."""
import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import fitnet_loss


@MODELS.register_module()
class FitNetLoss(nn.Module):
    """``loss_weight * mean((F_S - F_T)^2)`` between (B, C, H, W) maps.

    Args:
        loss_weight (float): overall weight.
    """
    input_kind = 'features'

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> torch.Tensor:
        """Two (B, C, H, W) maps to a scalar loss."""
        return self.loss_weight * fitnet_loss(student_feat, teacher_feat)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
