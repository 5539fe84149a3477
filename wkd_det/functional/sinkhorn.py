"""Entropic optimal transport between batches of discrete distributions.

All N problems share one (K x K) cost matrix M, so one kernel
``exp(-M / eps)`` serves the whole batch and each Sinkhorn iteration is two
(N x K) @ (K x K) matmuls. Memory is O(N*K + K^2) per iteration.

Stability: the scaling vectors are kept as log-potentials ``a = log u`` and
``b = log v``; before each matmul the per-sample maximum is subtracted, so the
exponentials are at most 1 and ``log(K @ exp(b))`` never overflows. The sum
stays above ``exp(-max(M) / eps)`` (the largest term of a row), which float32
represents down to ``max(M) / eps = 80``; beyond that (e.g. eps = 0.01 with
M in [0, 1]) the iterations run in float64. They never run in half precision:
the inputs are promoted to float32 at least, also under autocast.

Entries with zero mass are given as ``-inf`` log-probabilities; they receive
and send no mass, which is how a class is removed from a problem without
copying the cost matrix.
"""
import warnings

import torch
from torch.utils.checkpoint import checkpoint

#: largest max(M) / eps for which the kernel is computed in float32
FLOAT32_MAX_COST_OVER_EPS = 80.0
#: largest L1 miss of the plan's second marginal that passes silently
MARGINAL_TOLERANCE = 1e-2
_WARNED = set()


def _log_matmul_exp(log_x: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    """``log(exp(log_x) @ mat)`` for (N, K) ``log_x`` and (K, K) ``mat``.

    The per-row maximum is subtracted first (detached: it cancels exactly).
    """
    shift = _finite_row_max(log_x)
    return torch.log(torch.exp(log_x - shift) @ mat) + shift


def sinkhorn_cost(log_p: torch.Tensor,
                  log_q: torch.Tensor,
                  cost: torch.Tensor,
                  eps: float = 0.05,
                  iters: int = 10) -> torch.Tensor:
    """Transport cost <P, M> of the entropic plan between rows of p and q.

    Solves, for every row n, ``min_P <P, M> - eps * H(P)`` subject to
    ``P 1 = p_n`` and ``P^T 1 = q_n`` with ``iters`` Sinkhorn iterations in
    the WKD authors' order: ``u = 1/K`` on the support of p, then per
    iteration ``v = q / (K^T u)`` and ``u = p / (K v)``, so the source
    marginal ``P 1 = p`` is the exact one. Returns ``<P, M>``; gradients
    flow through the iterations. When the other marginal is still off by
    more than :data:`MARGINAL_TOLERANCE` (L1, worst row), a warning naming
    eps and iters is given once per (eps, iters): the distance is then far
    from converged (e.g. eps = 0.01 with 10 iterations).

    Args:
        log_p (Tensor): (N, K) log-probabilities of the source rows;
            ``-inf`` where a row has no mass.
        log_q (Tensor): (N, K) log-probabilities of the target rows.
        cost (Tensor): (K, K) ground cost M, shared by all rows.
        eps (float): entropic regularisation.
        iters (int): number of Sinkhorn iterations.

    Returns:
        Tensor: (N,) transport cost per row, in the promoted dtype
        (float32, or float64 when ``max(M) / eps`` exceeds
        :data:`FLOAT32_MAX_COST_OVER_EPS` or the inputs are float64).
    """
    if eps <= 0:
        raise ValueError(f'sinkhorn_cost: eps must be > 0, got {eps}')
    if iters < 1:
        raise ValueError(f'sinkhorn_cost: iters must be >= 1, got {iters}')
    dtype = torch.promote_types(
        torch.promote_types(log_p.dtype, log_q.dtype),
        torch.promote_types(cost.dtype, torch.float32))
    if float(cost.detach().max()) / eps > FLOAT32_MAX_COST_OVER_EPS:
        dtype = torch.float64
    with torch.autocast(device_type=log_p.device.type, enabled=False):
        log_p, log_q, cost = log_p.to(dtype), log_q.to(dtype), cost.to(dtype)
        kernel = torch.exp(-cost / eps)
        # u = 1/K on the support of p and 0 off it, as on the sub-problem
        support = torch.isfinite(log_p).sum(dim=1, keepdim=True).clamp_min(1)
        log_u = (-torch.log(support.to(dtype))).expand_as(log_p).masked_fill(
            log_p == float('-inf'), float('-inf'))
        # With gradients, each iteration keeps only its input log_u and is
        # recomputed in the backward pass: O(N*K) memory per iteration
        # instead of the handful of (N, K) intermediates autograd would keep.
        recompute = torch.is_grad_enabled() and (log_p.requires_grad
                                                 or log_q.requires_grad)
        kernel_t = kernel.t()
        for _ in range(iters):
            if recompute:
                log_v, log_u = checkpoint(_iteration, log_u, log_p, log_q,
                                          kernel, kernel_t,
                                          use_reentrant=False)
            else:
                log_v, log_u = _iteration(log_u, log_p, log_q, kernel,
                                          kernel_t)
        _check_marginal(log_u, log_v, log_q, kernel, eps, iters)
        # <P, M> = sum_ij u_i K_ij M_ij v_j, with the same max-shifts.
        shift_u, shift_v = _finite_row_max(log_u), _finite_row_max(log_v)
        weighted = torch.exp(log_v - shift_v) @ (kernel * cost).t()
        per_row = (torch.exp(log_u - shift_u) * weighted).sum(dim=1)
        return per_row * torch.exp(shift_u + shift_v).squeeze(1)


def _iteration(log_u, log_p, log_q, kernel, kernel_t):
    """One Sinkhorn iteration on log-potentials: the v then the u update
    (``kernel_t`` is ``kernel.t()``, made once per solve)."""
    log_v = log_q - _log_matmul_exp(log_u, kernel)
    return log_v, log_p - _log_matmul_exp(log_v, kernel_t)


@torch.no_grad()
def _check_marginal(log_u, log_v, log_q, kernel, eps, iters) -> None:
    """Warn once per (eps, iters) if ``P^T 1`` is off q by more than
    :data:`MARGINAL_TOLERANCE` (L1, worst row)."""
    if (eps, iters) in _WARNED or log_u.size(0) == 0:
        return
    marginal = torch.exp(log_v + _log_matmul_exp(log_u, kernel))
    error = float((marginal - torch.exp(log_q)).abs().sum(dim=1).max())
    if error > MARGINAL_TOLERANCE:
        _WARNED.add((eps, iters))
        warnings.warn(
            f'Sinkhorn with eps={eps} and iters={iters}: the transport plan '
            f'misses its teacher marginal by {error:.3g} (L1, worst row; '
            f'tolerance {MARGINAL_TOLERANCE}), so the Wasserstein distance '
            'is far from converged; raise iters or eps (warned once)',
            stacklevel=3)


def _finite_row_max(log_x: torch.Tensor) -> torch.Tensor:
    """Detached (N, 1) row maximum, raised to the dtype's lowest finite
    value for rows that are all ``-inf`` (their ``exp(log_x - shift)`` stays
    0). Three ops (detach, amax, clamp): the shift is taken 40 times per
    10-iteration solve."""
    return log_x.detach().amax(dim=1, keepdim=True).clamp_min(
        torch.finfo(log_x.dtype).min)
