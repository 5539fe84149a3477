"""KL-based logit distillation (KD, BDD) and feature mimicking (FitNet).

    KD  = tau^2 * KL(p_T(tau) || p_S(tau))
    BDD = alpha * tau_f^2 * KL(p_T(tau_f) || p_S(tau_f))
        + beta  * tau_r^2 * KL(p_S(tau_r) || p_T(tau_r))
    FitNet = mean((F_S - F_T)^2)

KL terms are summed over classes and averaged over the N samples. BDD's
second, reverse-KL term weights the classes where the student puts mass that
the teacher does not, which forward KL under-weights (Qi et al., 2025; the
paper's exact weighting is not public, this is the documented form).
"""
import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite


def kl_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(p || q) = sum_k p_k (log p_k - log q_k), from
    (N, K) log-probabilities; 0 when N = 0."""
    if log_p.size(0) == 0:
        return (log_p.sum() + log_q.sum()) * 0.0
    return F.kl_div(log_q, log_p, reduction='batchmean', log_target=True)


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
            tau: float = 4.0) -> torch.Tensor:
    """KD: ``tau^2 * KL(p_T(tau) || p_S(tau))`` on (N, K) logits."""
    check_finite('KD', student_logits=student_logits,
                 teacher_logits=teacher_logits)
    log_p_s = F.log_softmax(at_least_float32(student_logits) / tau, dim=1)
    log_p_t = F.log_softmax(at_least_float32(teacher_logits) / tau, dim=1)
    return tau**2 * kl_divergence(log_p_t, log_p_s)


def bdd_loss(student_logits: torch.Tensor,
             teacher_logits: torch.Tensor,
             tau_forward: float = 4.0,
             tau_reverse: float = 4.0,
             alpha: float = 1.0,
             beta: float = 1.0) -> torch.Tensor:
    """BDD: forward KL at ``tau_forward`` plus reverse KL at ``tau_reverse``
    (see module docstring) on (N, K) logits."""
    check_finite('BDD', student_logits=student_logits,
                 teacher_logits=teacher_logits)
    student_logits = at_least_float32(student_logits)
    teacher_logits = at_least_float32(teacher_logits)
    forward = kl_divergence(F.log_softmax(teacher_logits / tau_forward, 1),
                            F.log_softmax(student_logits / tau_forward, 1))
    reverse = kl_divergence(F.log_softmax(student_logits / tau_reverse, 1),
                            F.log_softmax(teacher_logits / tau_reverse, 1))
    return alpha * tau_forward**2 * forward + beta * tau_reverse**2 * reverse


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
