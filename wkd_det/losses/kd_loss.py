"""KD baseline as a registered MMDetection loss (math: functional.divergences)."""
from typing import Optional

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
                labels: Optional[torch.Tensor] = None,
                head: str = 'softmax',
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None) -> torch.Tensor:
        """Logits of a ``head`` ('softmax' or 'sigmoid') to a scalar, the
        per-sample terms weighted and divided by ``avg_factor`` (see
        :func:`wkd_det.functional.kd_loss`); ``labels`` is unused."""
        return self.loss_weight * kd_loss(student_logits, teacher_logits,
                                          tau=self.tau, head=head,
                                          weight=weight, avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
