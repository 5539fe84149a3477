"""KL-based logit distillation (KD, BDD) and feature mimicking (FitNet).

    KD_n  = tau^2 * KL(p_T(tau) || p_S(tau))
    BDD_n = alpha * tau_f^2 * KL(p_T(tau_f) || p_S(tau_f))
          + beta  * tau_r^2 * KL(p_S(tau_r) || p_T(tau_r))
    FitNet = mean((F_S - F_T)^2)

p(tau) is the class distribution of
:func:`.class_distributions.class_log_probs` (softmax or sigmoid head). KL
terms are summed over classes and averaged over the samples as
``sum_n w_n KD_n / avg_factor`` (w_n = 1, avg_factor = N by default). BDD's
second, reverse-KL term weights the classes where the student puts mass
that the teacher does not, which forward KL under-weights (Qi et al.,
2025; the paper's exact weighting is not public, this is the documented
form).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite
from .class_distributions import class_log_probs, weighted_mean


def kl_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """(N,) KL(p_n || q_n) = sum_k p_k (log p_k - log q_k) of (N, K)
    log-probabilities."""
    return F.kl_div(log_q, log_p, reduction='none', log_target=True).sum(1)


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
            tau: float = 4.0, head: str = 'softmax',
            weight: Optional[torch.Tensor] = None,
            avg_factor: Optional[float] = None) -> torch.Tensor:
    """KD: ``tau^2 * KL(p_T(tau) || p_S(tau))``, weighted mean over samples."""
    check_finite('KD', student_logits=student_logits,
                 teacher_logits=teacher_logits)
    log_p_s = class_log_probs(at_least_float32(student_logits), tau, head)
    log_p_t = class_log_probs(at_least_float32(teacher_logits), tau, head)
    return weighted_mean(tau**2 * kl_divergence(log_p_t, log_p_s), weight,
                         avg_factor)


def bdd_loss(student_logits: torch.Tensor,
             teacher_logits: torch.Tensor,
             tau_forward: float = 4.0,
             tau_reverse: float = 4.0,
             alpha: float = 1.0,
             beta: float = 1.0,
             head: str = 'softmax',
             weight: Optional[torch.Tensor] = None,
             avg_factor: Optional[float] = None) -> torch.Tensor:
    """BDD: forward KL at ``tau_forward`` plus reverse KL at ``tau_reverse``
    (see module docstring), weighted mean over samples."""
    check_finite('BDD', student_logits=student_logits,
                 teacher_logits=teacher_logits)
    student_logits = at_least_float32(student_logits)
    teacher_logits = at_least_float32(teacher_logits)
    forward = kl_divergence(
        class_log_probs(teacher_logits, tau_forward, head),
        class_log_probs(student_logits, tau_forward, head))
    reverse = kl_divergence(
        class_log_probs(student_logits, tau_reverse, head),
        class_log_probs(teacher_logits, tau_reverse, head))
    return weighted_mean(alpha * tau_forward**2 * forward +
                         beta * tau_reverse**2 * reverse, weight, avg_factor)


def fitnet_loss(student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> torch.Tensor:
    """FitNet: mean squared error between same-shape feature maps."""
    check_finite('FitNet', student_feat=student_feat, teacher_feat=teacher_feat)
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'FitNet: student map {tuple(student_feat.shape)} and '
                         f'teacher map {tuple(teacher_feat.shape)} differ')
    if student_feat.numel() == 0:
        return student_feat.sum() * 0.0
    return F.mse_loss(at_least_float32(student_feat),
                      at_least_float32(teacher_feat))
