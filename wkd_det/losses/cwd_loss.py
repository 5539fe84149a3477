"""CWD baseline as a registered MMDetection loss (math: feature_baselines)."""
import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import cwd_loss


@MODELS.register_module()
class CWDLoss(nn.Module):
    """``loss_weight * tau^2 * KL(teacher || student)`` of each channel's
    softmax over the H x W positions of (B, C, H, W) maps, averaged over
    channels and images; see :func:`wkd_det.functional.cwd_loss`.

    Args:
        tau (float): temperature, > 0.
        loss_weight (float): overall weight.
    """
    input_kind = 'features'

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if not tau > 0:
            raise ValueError(f'CWDLoss: tau must be > 0, got {tau}')
        self.tau, self.loss_weight = tau, loss_weight

    def forward(self, student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> torch.Tensor:
        """Two (B, C, H, W) maps to a scalar loss."""
        return self.loss_weight * cwd_loss(student_feat, teacher_feat,
                                           tau=self.tau)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
