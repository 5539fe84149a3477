"""WKD-L: discrete Wasserstein distillation of classification logits.

For logits z and targets y (N,), with p(tau) the class distribution of
:func:`.class_distributions.class_log_probs` (softmax heads: softmax(z /
tau); sigmoid heads: background mass kept as the head predicts):

    L_t,n  = - p_T(1)[n, y_n] * log p_S(1)[n, y_n]
    q      = p(tau)[n, non-target], renormalised       (per model)
    WD_n   = min_P <P, M>,  P 1 = q_S,  P^T 1 = q_T    (Sinkhorn, reg eps)
    L      = sum_n w_n (target_weight * L_t,n + wd_weight * WD_n) / avg_factor

with w_n = 1 and avg_factor = N by default (the plain mean). The target
class is removed by giving it zero mass in q_S and q_T, so all samples
share the one (K x K) cost matrix M (see :mod:`.sinkhorn`).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite
from .class_distributions import (class_log_probs, num_distribution_classes,
                                  weighted_mean)
from .sinkhorn import sinkhorn_cost


def nontarget_log_probs(log_probs: torch.Tensor,
                        labels: torch.Tensor) -> torch.Tensor:
    """(N, K) log-probabilities renormalised over the non-target classes;
    ``-inf`` at each row's target class."""
    # scatter, not F.one_hot, which off CUDA reads the labels' min and max
    # back to the host; scatter checks the bounds itself
    target = torch.zeros_like(log_probs, dtype=torch.bool).scatter_(
        1, labels[:, None], True)
    return F.log_softmax(log_probs.masked_fill(target, float('-inf')), dim=1)


def target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                labels: torch.Tensor, head: str = 'softmax') -> torch.Tensor:
    """(N,) L_t: the student's target log-probability weighted by the
    teacher's target probability (tau = 1, all classes)."""
    index = labels[:, None]
    log_p_s = class_log_probs(student_logits, 1.0, head).gather(1, index)
    p_t = class_log_probs(teacher_logits, 1.0, head).gather(1, index).exp()
    return -(p_t * log_p_s).squeeze(1)


def nontarget_wasserstein(student_logits: torch.Tensor,
                          teacher_logits: torch.Tensor,
                          labels: torch.Tensor,
                          cost: torch.Tensor,
                          tau: float = 2.0,
                          eps: float = 0.05,
                          iters: int = 10,
                          head: str = 'softmax') -> torch.Tensor:
    """(N,) entropic Wasserstein distance WD_n between the non-target
    distributions of student and teacher (see module docstring)."""
    return sinkhorn_cost(
        nontarget_log_probs(class_log_probs(student_logits, tau, head), labels),
        nontarget_log_probs(class_log_probs(teacher_logits, tau, head), labels),
        cost, eps=eps, iters=iters)


def wkd_logit_loss(student_logits: torch.Tensor,
                   teacher_logits: torch.Tensor,
                   labels: torch.Tensor,
                   cost: torch.Tensor,
                   tau: float = 2.0,
                   eps: float = 0.05,
                   iters: int = 10,
                   target_weight: float = 1.0,
                   wd_weight: float = 1.0,
                   head: str = 'softmax',
                   weight: Optional[torch.Tensor] = None,
                   avg_factor: Optional[float] = None) -> torch.Tensor:
    """WKD-L loss, a scalar.

    Args:
        student_logits (Tensor): (N, K) student logits ((N, K - 1) for a
            sigmoid head).
        teacher_logits (Tensor): teacher logits, the same shape.
        labels (Tensor): (N,) target class of each sample, in [0, K)
            (K - 1 = background of a sigmoid head).
        cost (Tensor): (K, K) category cost matrix M, zero diagonal.
        tau (float): temperature of the non-target distributions.
        eps (float): Sinkhorn entropic regularisation.
        iters (int): Sinkhorn iterations.
        target_weight (float): w_t, weight of the target term L_t.
        wd_weight (float): lambda, weight of the Wasserstein distance.
        head (str): 'softmax' or 'sigmoid' (see module docstring).
        weight (Tensor, optional): (N,) per-sample weights w_n.
        avg_factor (float, optional): the divisor; default N.

    Returns:
        Tensor: L (module docstring); 0 (still attached to the student's
        graph) when N = 0.
    """
    check_finite('WKD-L', student_logits=student_logits,
                 teacher_logits=teacher_logits, cost=cost)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f'WKD-L: student logits {tuple(student_logits.shape)}'
                         f' and teacher logits {tuple(teacher_logits.shape)} '
                         'differ in shape')
    num_classes = num_distribution_classes(student_logits, head)
    if cost.shape != (num_classes, num_classes):
        raise ValueError(f'WKD-L: cost matrix is {tuple(cost.shape)}, the '
                         f'{head} logits make {num_classes} classes')
    if student_logits.size(0) == 0:
        return student_logits.sum() * 0.0
    student_logits = at_least_float32(student_logits)
    teacher_logits = at_least_float32(teacher_logits)
    per_sample = student_logits.new_zeros(student_logits.size(0))
    if target_weight:
        per_sample = per_sample + target_weight * target_loss(
            student_logits, teacher_logits, labels, head)
    if wd_weight:
        wd = nontarget_wasserstein(student_logits, teacher_logits, labels,
                                   cost, tau=tau, eps=eps, iters=iters,
                                   head=head)
        per_sample = per_sample + wd_weight * wd.to(per_sample.dtype)
    return weighted_mean(per_sample, weight, avg_factor)
