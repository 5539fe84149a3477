"""BDD baseline as a registered MMDetection loss (math: functional.divergences)."""
from typing import Optional

import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import bdd_loss


@MODELS.register_module()
class BDDLoss(nn.Module):
    """Balance divergence: forward KL plus a reverse-KL term.

    ``loss_weight * (alpha * tau_f^2 * KL(p_T || p_S) + beta * tau_r^2 *
    KL(p_S || p_T))``, see :func:`wkd_det.functional.bdd_loss`.

    Args:
        tau_forward (float): temperature of the forward KL, tau_f.
        tau_reverse (float): temperature of the reverse KL, tau_r.
        alpha (float): weight of the forward KL.
        beta (float): weight of the reverse KL.
        loss_weight (float): overall weight.
    """
    input_kind = 'logits'

    def __init__(self,
                 tau_forward: float = 4.0,
                 tau_reverse: float = 4.0,
                 alpha: float = 1.0,
                 beta: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tau_forward, self.tau_reverse = tau_forward, tau_reverse
        self.alpha, self.beta, self.loss_weight = alpha, beta, loss_weight

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                labels: Optional[torch.Tensor] = None,
                head: str = 'softmax',
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None) -> torch.Tensor:
        """Logits of a ``head`` ('softmax' or 'sigmoid') to a scalar, the
        per-sample terms weighted and divided by ``avg_factor`` (see
        :func:`wkd_det.functional.bdd_loss`); ``labels`` is unused."""
        return self.loss_weight * bdd_loss(
            student_logits, teacher_logits, tau_forward=self.tau_forward,
            tau_reverse=self.tau_reverse, alpha=self.alpha, beta=self.beta,
            head=head, weight=weight, avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return (f'tau_forward={self.tau_forward}, '
                f'tau_reverse={self.tau_reverse}, alpha={self.alpha}, '
                f'beta={self.beta}, loss_weight={self.loss_weight}')
