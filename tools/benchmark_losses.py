"""Benchmark WKD-L and WKD-F against their naive formulations (not a test).

WKD-L: N samples, K classes, shared-kernel masked Sinkhorn (ours) against the
formulation with one (K-1) x (K-1) cost sub-matrix gathered per sample and a
batched Sinkhorn on the (N, K-1, K-1) stack. WKD-F: 5-level FPN batch, one
tensor per level as an FPN returns them, grid statistics from pooled ops
(ours) against a loop over cells.

Each figure is forward + backward, median of ``--repeats`` runs after a
warm-up. Peak memory is the largest amount of tensor memory live at once
during forward + backward, read from the PyTorch profiler's allocation
events (allocator caching excluded), so it is comparable across methods.

Prints, per method::

    RESULT wkd_l speedup=... mem_ratio=... max_rel_err=...
    RESULT wkd_f speedup=... mem_ratio=... max_rel_err=...

and, with ``--full-covariance``, the time of WKD-F's full-covariance (Bures)
form on the same maps.

Usage: python tools/benchmark_losses.py [--quick] [--repeats R] [--threads T]
                                        [--full-covariance]
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from wkd_det.functional import (wkd_feature_loss,  # noqa: E402
                                wkd_logit_loss)


def naive_wkd_logit_loss(z_s, z_t, labels, cost, tau, eps, iters,
                         target_weight, wd_weight):
    """WKD-L with a per-sample gathered (K-1) x (K-1) cost sub-matrix."""
    n, k = z_s.shape
    keep = torch.arange(k).expand(n, k)[labels[:, None] != torch.arange(k)]
    keep = keep.view(n, k - 1)
    p = torch.softmax(z_s.gather(1, keep) / tau, 1)
    q = torch.softmax(z_t.gather(1, keep) / tau, 1)
    sub = cost[keep[:, :, None], keep[:, None, :]]          # (N, K-1, K-1)
    kernel = torch.exp(-sub / eps)
    v = torch.ones_like(q)
    for _ in range(iters):
        u = p / torch.bmm(kernel, v[:, :, None]).squeeze(2)
        v = q / torch.bmm(kernel.transpose(1, 2), u[:, :, None]).squeeze(2)
    plan = u[:, :, None] * kernel * v[:, None, :]
    wd = (plan * sub).sum(dim=(1, 2))
    idx = labels[:, None]
    l_t = -(torch.softmax(z_t, 1).gather(1, idx) *
            torch.log_softmax(z_s, 1).gather(1, idx)).mean()
    return target_weight * l_t + wd_weight * wd.mean()


def naive_wkd_feature_loss(fs, ft, grid, gamma, eps):
    """WKD-F with the statistics of each cell computed in a Python loop."""
    _, _, h, w = fs.shape
    total = 0.0
    for i in range(grid):
        r0, r1 = (i * h) // grid, math.ceil((i + 1) * h / grid)
        for j in range(grid):
            c0, c1 = (j * w) // grid, math.ceil((j + 1) * w / grid)
            cs = fs[:, :, r0:r1, c0:c1].flatten(2)
            ct = ft[:, :, r0:r1, c0:c1].flatten(2)
            d_mu = (cs.mean(-1) - ct.mean(-1)).pow(2).sum(1)
            d_sd = (torch.sqrt(cs.var(-1, unbiased=False) + eps) -
                    torch.sqrt(ct.var(-1, unbiased=False) + eps)).pow(2).sum(1)
            total = total + (gamma * d_mu + d_sd).mean()
    return total / grid**2


def clear_grads(leaves):
    for leaf in leaves:
        leaf.grad = None


def forward_backward(fn, leaves, *args):
    """Loss and the gradients of ``leaves`` (a list of tensors)."""
    clear_grads(leaves)
    loss = fn(leaves, *args)
    loss.backward()
    return loss.detach(), [leaf.grad for leaf in leaves]


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(fn):
    """Largest live tensor memory (bytes) during ``fn()``, from the
    profiler's allocation and free events in time order."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


def rel_err(a, b):
    """Largest absolute difference over the largest reference magnitude."""
    diff = max(float((x - y).abs().max()) for x, y in zip(a, b))
    scale = max(float(y.abs().max()) for y in b)
    return diff / max(scale, 1e-30)


def compare(name, ours, naive, leaves, args, repeats):
    loss_o, grad_o = forward_backward(ours, leaves, *args)
    loss_n, grad_n = forward_backward(naive, leaves, *args)
    err = max(rel_err([loss_o], [loss_n]), rel_err(grad_o, grad_n))
    t_o = median_time(lambda: forward_backward(ours, leaves, *args), repeats)
    t_n = median_time(lambda: forward_backward(naive, leaves, *args), repeats)
    clear_grads(leaves)  # freed outside the profiled window
    m_o = peak_memory(lambda: forward_backward(ours, leaves, *args))
    clear_grads(leaves)
    m_n = peak_memory(lambda: forward_backward(naive, leaves, *args))
    print(f'{name}: ours {t_o * 1e3:.1f} ms, {m_o / 2**20:.1f} MiB | naive '
          f'{t_n * 1e3:.1f} ms, {m_n / 2**20:.1f} MiB', flush=True)
    print(f'RESULT {name} speedup={t_n / t_o:.1f} mem_ratio={m_n / m_o:.1f} '
          f'max_rel_err={err:.1e}', flush=True)


def bench_wkd_l(n, k, repeats):
    g = torch.Generator().manual_seed(0)
    z_s = (torch.randn(n, k, generator=g) * 3).requires_grad_(True)
    z_t = torch.randn(n, k, generator=g) * 3
    labels = torch.randint(0, k, (n,), generator=g)
    cost = torch.rand(k, k, generator=g)
    cost = ((cost + cost.t()) / 2).fill_diagonal_(0.0)
    opts = dict(tau=2.0, eps=0.05, iters=10, target_weight=1.0, wd_weight=10.0)

    def ours(leaves, t, y, m):
        return wkd_logit_loss(leaves[0], t, y, m, **opts)

    def naive(leaves, t, y, m):
        return naive_wkd_logit_loss(leaves[0], t, y, m, **opts)

    print(f'WKD-L: N={n} samples, K={k} classes, eps={opts["eps"]}, '
          f'{opts["iters"]} iterations', flush=True)
    compare('wkd_l', ours, naive, [z_s], (z_t, labels, cost), repeats)


def bench_wkd_f(batch, channels, base_hw, levels, grid, repeats,
                full_covariance=False):
    g = torch.Generator().manual_seed(0)
    h, w = base_hw
    shapes = [(batch, channels, math.ceil(h / 2**i), math.ceil(w / 2**i))
              for i in range(levels)]
    # one tensor per level, as an FPN returns them
    student = [torch.randn(*s, generator=g).requires_grad_(True)
               for s in shapes]
    teacher = [torch.randn(*s, generator=g) for s in shapes]

    def per_level(loss_fn):
        def total(maps_s, maps_t):
            return sum(loss_fn(a, b) for a, b in zip(maps_s, maps_t)) / levels
        return total

    ours = per_level(lambda a, b: wkd_feature_loss(a, b, grid=grid, gamma=2.0))
    naive = per_level(lambda a, b: naive_wkd_feature_loss(a, b, grid, 2.0, 1e-5))
    print(f'WKD-F: {levels} FPN levels {[s[2:] for s in shapes]}, batch '
          f'{batch}, {channels} channels, grid {grid}', flush=True)
    compare('wkd_f', ours, naive, student, (teacher,), repeats)
    if full_covariance:
        full = per_level(lambda a, b: wkd_feature_loss(
            a, b, grid=grid, gamma=2.0, covariance='full'))
        t_full = median_time(lambda: forward_backward(full, student, teacher),
                             min(repeats, 3))
        print(f'wkd_f covariance=full: ours {t_full * 1e3:.1f} ms (Bures, '
              f'{channels} x {channels} per cell; no naive form timed)',
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer repeats and a smaller FPN (under 60 s)')
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--full-covariance', action='store_true',
                        help='also time WKD-F with full covariances (Bures)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 10)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{repeats} repeats, median of forward + backward', flush=True)
    bench_wkd_l(1024, 81, repeats)
    if args.quick:
        bench_wkd_f(2, 256, (100, 168), 5, 4, repeats, args.full_covariance)
    else:
        bench_wkd_f(2, 256, (200, 336), 5, 4, repeats, args.full_covariance)


if __name__ == '__main__':
    main()
