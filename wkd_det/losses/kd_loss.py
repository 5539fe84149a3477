"""KD baseline as a registered MMDetection loss (math: functional.divergences)."""
import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import kd_loss


@MODELS.register_module()
class KDLoss(nn.Module):
    """``loss_weight * tau^2 * KL(p_T(tau) || p_S(tau))`` on (N, K) logits.

    Args:
        tau (float): temperature.
        loss_weight (float): overall weight.
    """
    input_kind = 'logits'

    def __init__(self, tau: float = 4.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tau, self.loss_weight = tau, loss_weight

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                labels: torch.Tensor = None) -> torch.Tensor:
        """(N, K) logits to a scalar; ``labels`` is accepted and unused."""
        return self.loss_weight * kd_loss(student_logits, teacher_logits,
                                          tau=self.tau)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
