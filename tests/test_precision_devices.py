"""The pure-torch losses under autocast and on a CUDA device.

Everywhere: under CPU bfloat16 autocast each loss gives its float32 value
(autocast would otherwise run its matmuls in bfloat16). With CUDA: the same
values and gradients as on the CPU, and float32 results with finite
gradients from float16 inputs under float16 autocast (what MMEngine's
``AmpOptimWrapper`` hands them). The MMDetection integration tests run on
CUDA by themselves where it exists (MMEngine's runner puts the model there).
"""
import pytest
import torch
from test_sinkhorn import random_cost

from wkd_det.functional import (bdd_loss, cwd_loss, fitnet_loss, kd_loss,
                                pkd_loss, second_moment_interrelation,
                                wkd_feature_loss, wkd_logit_loss)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a CUDA device')

NUM_CLASSES = 11


def logit_case(loss):
    """(student logits, teacher logits, labels, cost) -> loss, on logits
    of 64 samples over NUM_CLASSES classes."""
    def make(device):
        g = torch.Generator().manual_seed(0)
        z_s = torch.randn(64, NUM_CLASSES, generator=g) * 3
        z_t = torch.randn(64, NUM_CLASSES, generator=g) * 3
        y = torch.randint(0, NUM_CLASSES + 1, (64, ), generator=g)
        cost = random_cost(NUM_CLASSES + 1, torch.float32, seed=1)
        extra = (y.to(device), cost.to(device))
        return z_s.to(device), z_t.to(device), extra
    return make, loss


def map_case(loss, channels=16):
    """(student map, teacher map) -> loss, on (2, C, 20, 24) maps."""
    def make(device):
        g = torch.Generator().manual_seed(0)
        s = torch.randn(2, channels, 20, 24, generator=g)
        t = torch.randn(2, channels, 20, 24, generator=g) * 2 + 0.5
        return s.to(device), t.to(device), ()
    return make, loss


CASES = {
    'kd-sigmoid': logit_case(
        lambda s, t, y, c: kd_loss(s, t, tau=2.0, head='sigmoid')),
    'bdd': logit_case(lambda s, t, y, c: bdd_loss(s, t)),
    'wkd-l-softmax': logit_case(
        lambda s, t, y, c: wkd_logit_loss(
            s, t, y % NUM_CLASSES, c[:-1, :-1])),
    'wkd-l-sigmoid': logit_case(
        lambda s, t, y, c: wkd_logit_loss(s, t, y, c, head='sigmoid')),
    'fitnet': map_case(fitnet_loss),
    'pkd': map_case(pkd_loss),
    'cwd': map_case(lambda s, t: cwd_loss(s, t, tau=4.0)),
    'wkd-f-grid': map_case(wkd_feature_loss),
    'wkd-f-cells': map_case(
        lambda s, t: wkd_feature_loss(s, t, cell_size=2, normalize=True)),
    'wkd-f-full': map_case(
        lambda s, t: wkd_feature_loss(s, t, covariance='full'), channels=8),
}


def value_and_grad(make, loss, device, dtype=torch.float32, autocast=None):
    """Loss under ``torch.autocast(device, autocast)`` (None: no autocast)
    and, outside it as in a training step, its gradient."""
    student, teacher, extra = make(device)
    student = student.to(dtype).requires_grad_(True)
    with torch.autocast(device, dtype=autocast, enabled=autocast is not None):
        value = loss(student, teacher.to(dtype), *extra)
    value.backward()
    return value.detach(), student.grad


@pytest.mark.parametrize('name', sorted(CASES))
def test_cpu_autocast_does_not_lower_precision(name):
    make, loss = CASES[name]
    reference, reference_grad = value_and_grad(make, loss, 'cpu')
    value, grad = value_and_grad(make, loss, 'cpu', autocast=torch.bfloat16)
    torch.testing.assert_close(value, reference, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grad, reference_grad, rtol=1e-5, atol=1e-7)


@needs_cuda
@pytest.mark.parametrize('name', sorted(CASES))
def test_cuda_matches_cpu(name):
    make, loss = CASES[name]
    cpu_value, cpu_grad = value_and_grad(make, loss, 'cpu')
    value, grad = value_and_grad(make, loss, 'cuda')
    assert value.device.type == 'cuda' and grad.device.type == 'cuda'
    torch.testing.assert_close(value.cpu(), cpu_value, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(grad.cpu(), cpu_grad, rtol=1e-3, atol=1e-6)


@needs_cuda
@pytest.mark.parametrize('name', sorted(CASES))
def test_half_inputs_give_float32(name):
    """Half-precision activations under autocast: the loss is float32 and
    close to the float32 loss of the same numbers."""
    make, loss = CASES[name]
    reference, _ = value_and_grad(make, loss, 'cuda')
    value, grad = value_and_grad(make, loss, 'cuda', torch.float16,
                                 autocast=torch.float16)
    assert value.dtype == torch.float32
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(value, reference, rtol=2e-2, atol=1e-4)


@needs_cuda
def test_interrelation_on_cuda():
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(30, 8, generator=g) for _ in range(5)]
    cpu = second_moment_interrelation(feats)
    cuda = second_moment_interrelation([f.cuda() for f in feats])
    assert cuda.device.type == 'cuda'
    torch.testing.assert_close(cuda.cpu(), cpu, rtol=1e-4, atol=1e-6)
