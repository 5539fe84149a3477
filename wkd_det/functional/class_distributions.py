"""Class distributions of classification heads, and the weighted average of
per-sample losses that every logit term uses.

Softmax heads (RoI heads): ``z`` is (N, K) with K = C + 1, background last,
and ``log p(tau) = log_softmax(z / tau)``.

Sigmoid heads (RetinaNet-style dense heads): ``z`` is (N, C), one
independent sigmoid per class, and no background logit. The (C + 1)-way
distribution used here keeps the background mass the head predicts and
lets the temperature act only among the classes:

    p(bg)      = 1 - max_c sigmoid(z_c)      (the head's own "no object")
    p(c | tau) = max_c sigmoid(z_c) * softmax(z / tau)_c

The foreground mass is the head's detection score (its largest class
probability, what its post-processing thresholds), so a confident negative
(every z_c very negative) keeps almost all of its mass on background at any
tau (logits -6, 80 classes: 0.998), instead of the mass a zero background
logit divided by tau would leave it (0.83 at tau 1, 0.20 at tau 2); the
temperature only softens how that score is shared among the classes.
Both parts are computed as log-sigmoids, so they stay finite.
"""
from typing import Optional

import torch
import torch.nn.functional as F

HEAD_KINDS = ('softmax', 'sigmoid')


def check_head(head: str) -> None:
    """Refuse an unknown head kind."""
    if head not in HEAD_KINDS:
        raise ValueError(f'head must be one of {HEAD_KINDS}, got {head!r}')


def class_log_probs(logits: torch.Tensor, tau: float = 1.0,
                    head: str = 'softmax') -> torch.Tensor:
    """(N, K) log-probabilities at temperature ``tau`` (see module
    docstring): ``head='softmax'`` takes (N, K) logits, ``'sigmoid'`` takes
    (N, C) logits and returns (N, C + 1), background last."""
    check_head(head)
    if head == 'softmax':
        return F.log_softmax(logits / tau, dim=1)
    top = logits.max(dim=1, keepdim=True).values
    return torch.cat([F.logsigmoid(top) + F.log_softmax(logits / tau, dim=1),
                      F.logsigmoid(-top)], dim=1)


def num_distribution_classes(logits: torch.Tensor, head: str) -> int:
    """K of the distributions :func:`class_log_probs` makes of ``logits``."""
    check_head(head)
    return logits.size(1) + (head == 'sigmoid')


def weighted_mean(per_sample: torch.Tensor,
                  weight: Optional[torch.Tensor] = None,
                  avg_factor: Optional[float] = None) -> torch.Tensor:
    """``sum_n weight_n * loss_n / avg_factor`` of (N,) losses.

    ``weight`` defaults to 1 and ``avg_factor`` to N (the plain mean), as
    MMDetection's ``weight_reduce_loss``; 0 (attached to the graph) when
    there is nothing to average.
    """
    if weight is not None:
        per_sample = per_sample * weight.to(per_sample.dtype)
    if avg_factor is None:
        avg_factor = per_sample.numel()
    if per_sample.numel() == 0 or float(avg_factor) <= 0:
        return per_sample.sum() * 0.0
    return per_sample.sum() / avg_factor
