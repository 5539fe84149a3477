"""WKD-L: discrete Wasserstein distillation of classification logits.

For logits z (N, K) and targets y (N,):

    L_t  = - mean_n( softmax(z_T)[n, y_n] * log_softmax(z_S)[n, y_n] )
    q    = softmax(z[n, non-target] / tau)             (per model)
    WD_n = min_P <P, M>,  P 1 = q_S,  P^T 1 = q_T      (Sinkhorn, reg eps)
    L    = target_weight * L_t + wd_weight * mean_n WD_n

The target class is removed by giving it zero mass in q_S and q_T, so all
samples share the one (K x K) cost matrix M (see :mod:`.sinkhorn`).
"""
import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite
from .sinkhorn import sinkhorn_cost


def nontarget_log_softmax(logits: torch.Tensor, labels: torch.Tensor,
                          tau: float) -> torch.Tensor:
    """(N, K) log of softmax(logits / tau) renormalised over the non-target
    classes; ``-inf`` at each row's target class."""
    target = F.one_hot(labels, logits.size(1)).bool()
    return F.log_softmax((logits / tau).masked_fill(target, float('-inf')),
                         dim=1)


def target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
    """L_t: the student's target log-probability weighted by the teacher's
    target probability (tau = 1, all classes), averaged over samples."""
    index = labels[:, None]
    log_p_s = F.log_softmax(student_logits, dim=1).gather(1, index)
    p_t = F.softmax(teacher_logits, dim=1).gather(1, index)
    return -(p_t * log_p_s).mean()


def nontarget_wasserstein(student_logits: torch.Tensor,
                          teacher_logits: torch.Tensor,
                          labels: torch.Tensor,
                          cost: torch.Tensor,
                          tau: float = 2.0,
                          eps: float = 0.05,
                          iters: int = 10) -> torch.Tensor:
    """(N,) entropic Wasserstein distance WD_n between the non-target
    distributions of student and teacher (see module docstring)."""
    return sinkhorn_cost(
        nontarget_log_softmax(student_logits, labels, tau),
        nontarget_log_softmax(teacher_logits, labels, tau),
        cost, eps=eps, iters=iters)


def wkd_logit_loss(student_logits: torch.Tensor,
                   teacher_logits: torch.Tensor,
                   labels: torch.Tensor,
                   cost: torch.Tensor,
                   tau: float = 2.0,
                   eps: float = 0.05,
                   iters: int = 10,
                   target_weight: float = 1.0,
                   wd_weight: float = 1.0) -> torch.Tensor:
    """WKD-L loss, a scalar.

    Args:
        student_logits (Tensor): (N, K) student logits.
        teacher_logits (Tensor): (N, K) teacher logits.
        labels (Tensor): (N,) target class of each sample, in [0, K).
        cost (Tensor): (K, K) category cost matrix M, zero diagonal.
        tau (float): temperature of the non-target distributions.
        eps (float): Sinkhorn entropic regularisation.
        iters (int): Sinkhorn iterations.
        target_weight (float): w_t, weight of the target term L_t.
        wd_weight (float): lambda, weight of the mean Wasserstein distance.

    Returns:
        Tensor: ``target_weight * L_t + wd_weight * mean_n WD_n``; 0 (still
        attached to the student's graph) when N = 0.
    """
    check_finite('WKD-L', student_logits=student_logits,
                 teacher_logits=teacher_logits, cost=cost)
    num_classes = student_logits.size(1)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f'WKD-L: student logits {tuple(student_logits.shape)}'
                         f' and teacher logits {tuple(teacher_logits.shape)} '
                         'differ in shape')
    if cost.shape != (num_classes, num_classes):
        raise ValueError(f'WKD-L: cost matrix is {tuple(cost.shape)}, the '
                         f'logits have {num_classes} classes')
    if student_logits.size(0) == 0:
        return student_logits.sum() * 0.0
    student_logits = at_least_float32(student_logits)
    teacher_logits = at_least_float32(teacher_logits)
    loss = student_logits.new_zeros(())
    if target_weight:
        loss = loss + target_weight * target_loss(student_logits,
                                                  teacher_logits, labels)
    if wd_weight:
        wd = nontarget_wasserstein(student_logits, teacher_logits, labels,
                                   cost, tau=tau, eps=eps, iters=iters)
        loss = loss + wd_weight * wd.mean().to(loss.dtype)
    return loss
