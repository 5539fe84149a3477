"""WKD-L as a registered MMDetection loss (math: functional.wasserstein_logits)."""
from typing import Optional

import torch
from mmdet.registry import MODELS
from torch import nn

from ..functional import (num_distribution_classes, uniform_cost,
                          wkd_logit_loss)


@MODELS.register_module()
class WKDLLoss(nn.Module):
    """Discrete Wasserstein distillation of classification logits.

    ``loss = loss_weight * sum_n w_n (target_weight * L_t,n + s * wd_weight
    * WD_n) / avg_factor``, see :func:`wkd_det.functional.wkd_logit_loss`.
    ``s`` is the loss-weight schedule's scale (``DistillLossWeightHook``):
    as in the authors' code the schedule decays lambda only and L_t keeps
    its weight, so the distiller passes the scale in (:attr:`scheduled`)
    instead of multiplying the whole term.

    The (K, K) category cost matrix is a non-persistent buffer: the
    distiller sets it with :meth:`set_cost` when it is built (from a file,
    the teacher classifier or the uniform matrix). Left unset, the uniform
    matrix for the logits' class count is used.

    Args:
        tau (float): temperature of the non-target distributions.
        eps (float): Sinkhorn entropic regularisation.
        iters (int): Sinkhorn iterations.
        target_weight (float): w_t.
        wd_weight (float): lambda.
        loss_weight (float): overall weight.
    """
    input_kind = 'logits'
    #: the schedule scales lambda only (``schedule_scale`` of forward)
    scheduled = 'wd_weight'

    def __init__(self,
                 tau: float = 2.0,
                 eps: float = 0.05,
                 iters: int = 10,
                 target_weight: float = 1.0,
                 wd_weight: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tau, self.eps, self.iters = tau, eps, iters
        self.target_weight, self.wd_weight = target_weight, wd_weight
        self.loss_weight = loss_weight
        self.register_buffer('cost', None, persistent=False)

    def set_cost(self, cost: torch.Tensor) -> None:
        """Use the (K, K) ``cost`` matrix from now on."""
        self.cost = cost.detach().float()

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                labels: torch.Tensor,
                head: str = 'softmax',
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                schedule_scale: float = 1.0) -> torch.Tensor:
        """Logits of a ``head`` ('softmax' or 'sigmoid') and (N,) target
        classes to a scalar loss."""
        if self.cost is None:
            self.set_cost(uniform_cost(num_distribution_classes(
                student_logits, head)).to(student_logits.device))
        return self.loss_weight * wkd_logit_loss(
            student_logits, teacher_logits, labels, self.cost, tau=self.tau,
            eps=self.eps, iters=self.iters, target_weight=self.target_weight,
            wd_weight=schedule_scale * self.wd_weight, head=head,
            weight=weight, avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, eps={self.eps}, iters={self.iters}, '
                f'target_weight={self.target_weight}, '
                f'wd_weight={self.wd_weight}, loss_weight={self.loss_weight}')

