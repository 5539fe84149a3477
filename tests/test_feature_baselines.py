"""PKD and CWD against loop references written from their formulas, and the
invariances that characterise each method."""
import math

import pytest
import torch

from wkd_det.functional import cwd_loss, pkd_loss, standardize_channels


def maps(b=2, c=3, h=4, w=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(b, c, h, w, generator=g, dtype=dtype)
    t = 3.0 * torch.randn(b, c, h, w, generator=g, dtype=dtype) + 1.0
    return s, t


def naive_pkd(s, t, eps=1e-6):
    """Each image, each channel: standardise over positions, squared error;
    the sum over everything divided by the number of elements."""
    s, t = s.double(), t.double()
    total = 0.0
    for b in range(s.size(0)):
        for c in range(s.size(1)):
            x, y = s[b, c].flatten(), t[b, c].flatten()
            zx = (x - x.mean()) / math.sqrt(((x - x.mean())**2).mean() + eps)
            zy = (y - y.mean()) / math.sqrt(((y - y.mean())**2).mean() + eps)
            total += ((zx - zy)**2).sum().item()
    return total / s.numel()


def naive_cwd(s, t, tau=1.0):
    """Each image, each channel: KL(softmax(t / tau) || softmax(s / tau)) over
    positions, times tau^2, averaged over images and channels."""
    s, t = s.double(), t.double()
    total = 0.0
    for b in range(s.size(0)):
        for c in range(s.size(1)):
            x, y = s[b, c].flatten() / tau, t[b, c].flatten() / tau
            p = torch.exp(y) / torch.exp(y).sum()
            q = torch.exp(x) / torch.exp(x).sum()
            total += (p * (p.log() - q.log())).sum().item()
    return tau**2 * total / (s.size(0) * s.size(1))


@pytest.mark.parametrize('eps', [0.0, 1e-6, 0.5])
def test_pkd_matches_loop_reference(eps):
    s, t = maps()
    assert pkd_loss(s, t, eps=eps).item() == pytest.approx(
        naive_pkd(s, t, eps), rel=1e-10)
    s32, t32 = s.float(), t.float()
    assert pkd_loss(s32, t32, eps=eps).item() == pytest.approx(
        naive_pkd(s32, t32, eps), rel=1e-5)


def test_pkd_is_two_times_one_minus_pearson():
    s, t = maps(seed=1)
    r = torch.stack([torch.corrcoef(torch.stack([s[b, c].flatten(),
                                                 t[b, c].flatten()]))[0, 1]
                     for b in range(2) for c in range(3)])
    torch.testing.assert_close(pkd_loss(s, t, eps=0.0), (2 * (1 - r)).mean())


@pytest.mark.parametrize('tau', [1.0, 0.5, 4.0])
def test_cwd_matches_loop_reference(tau):
    s, t = maps(seed=2)
    assert cwd_loss(s, t, tau).item() == pytest.approx(naive_cwd(s, t, tau),
                                                       rel=1e-10)
    s32, t32 = s.float(), t.float()
    assert cwd_loss(s32, t32, tau).item() == pytest.approx(
        naive_cwd(s32, t32, tau), rel=1e-5)


def test_gradcheck():
    s, t = maps(2, 2, 3, 3, seed=3)
    s.requires_grad_(True)
    t.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, y: pkd_loss(x, y), (s, t))
    assert torch.autograd.gradcheck(lambda x, y: pkd_loss(x, y, eps=0.0),
                                    (s, t))
    assert torch.autograd.gradcheck(lambda x, y: cwd_loss(x, y, 2.0), (s, t))


def per_channel_affine(x, seed, per_image=False):
    """``a * x + b`` with a > 0 and b drawn per channel (per image too when
    ``per_image``)."""
    g = torch.Generator().manual_seed(seed)
    shape = (x.size(0) if per_image else 1, x.size(1), 1, 1)
    a = torch.rand(shape, generator=g, dtype=x.dtype) * 10 + 0.1
    b = torch.randn(shape, generator=g, dtype=x.dtype) * 100
    return a * x + b


@pytest.mark.parametrize('per_image', [False, True])
def test_pkd_invariant_to_positive_affine_per_channel(per_image):
    s, t = maps(seed=4)
    ref = pkd_loss(s, t, eps=0.0)
    s2 = per_channel_affine(s, 0, per_image)
    t2 = per_channel_affine(t, 1, per_image)
    for a, b in [(s2, t), (s, t2), (s2, t2)]:
        torch.testing.assert_close(pkd_loss(a, b, eps=0.0), ref)
        # the default eps is negligible against unit-scale variances
        torch.testing.assert_close(pkd_loss(a, b), ref, rtol=1e-5, atol=1e-6)
    # a sign flip is not a positive rescaling: r -> -r
    torch.testing.assert_close(pkd_loss(-s, t, eps=0.0), 4 - ref)


def test_pkd_standardised_maps():
    s, _ = maps(seed=5)
    z = standardize_channels(s, eps=0.0)
    torch.testing.assert_close(z.mean(dim=(2, 3)), s.new_zeros(2, 3),
                               atol=1e-12, rtol=0)
    torch.testing.assert_close(z.var(dim=(2, 3), correction=0),
                               s.new_ones(2, 3))
    # one image's statistics do not depend on the rest of its batch
    torch.testing.assert_close(standardize_channels(s[:1]),
                               standardize_channels(s)[:1])
    torch.testing.assert_close(pkd_loss(s, s), s.new_zeros(()))


def test_pkd_constant_channel_and_single_position_are_finite():
    s, t = maps(2, 3, 1, 1, seed=6)
    s.requires_grad_(True)
    loss = pkd_loss(s, t)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(s.grad).all()
    s, t = maps(seed=7)
    s = s.clone()
    s[0, 1] = 2.5
    s.requires_grad_(True)
    loss = pkd_loss(s, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()


def test_cwd_zero_at_equal_maps_and_positive_otherwise():
    s, t = maps(seed=8)
    for tau in (1.0, 3.0):
        assert cwd_loss(t, t, tau).item() == pytest.approx(0.0, abs=1e-12)
        assert cwd_loss(s, t, tau).item() > 0


@pytest.mark.parametrize('per_image', [False, True])
def test_cwd_invariant_to_per_channel_constant(per_image):
    s, t = maps(seed=9)
    g = torch.Generator().manual_seed(0)
    shape = (2 if per_image else 1, 3, 1, 1)
    ref = cwd_loss(s, t, 2.0)
    shift_s = torch.randn(shape, generator=g, dtype=s.dtype) * 50
    shift_t = torch.randn(shape, generator=g, dtype=s.dtype) * 50
    torch.testing.assert_close(cwd_loss(s + shift_s, t + shift_t, 2.0), ref)
    # unlike PKD, a scale is not absorbed: it changes the distributions
    assert not torch.allclose(cwd_loss(2 * s, t, 2.0), ref)


def test_cwd_softmax_is_over_positions_of_each_channel():
    """A single hot position per channel: the teacher's distribution is
    (nearly) one-hot, so the loss is -log p_S at that position."""
    s = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    t = torch.full((1, 2, 2, 2), -1e3, dtype=torch.float64)
    t[0, 0, 0, 1] = 0.0
    t[0, 1, 1, 0] = 0.0
    assert cwd_loss(s, t).item() == pytest.approx(math.log(4))


def test_extreme_values_finite():
    s = torch.tensor([[[[1e4, -1e4], [0.0, 3.0]]]], requires_grad=True)
    t = torch.tensor([[[[-1e4, 1e4], [0.0, 3.0]]]])
    loss = cwd_loss(s, t) + pkd_loss(s, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()


@pytest.mark.parametrize('fn,name', [(pkd_loss, 'PKD'), (cwd_loss, 'CWD')])
def test_bad_input(fn, name):
    s, t = maps(dtype=torch.float32)
    with pytest.raises(ValueError, match=f'{name}: student map'):
        fn(s, t[:, :2])
    with pytest.raises(ValueError, match=f'{name}: expected'):
        fn(s[0], t[0])
    bad = t.clone()
    bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match=f'{name}: teacher_feat'):
        fn(s, bad)
    with pytest.raises(ValueError, match=name):
        if fn is pkd_loss:
            fn(s, t, eps=-1.0)
        else:
            fn(s, t, tau=0.0)


@pytest.mark.parametrize('fn', [pkd_loss, cwd_loss])
@pytest.mark.parametrize('shape', [(0, 3, 4, 4), (2, 3, 0, 4), (2, 0, 4, 4)])
def test_empty_map_zero_with_graph(fn, shape):
    s = torch.zeros(shape, requires_grad=True)
    loss = fn(s, torch.zeros(shape))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert s.grad.shape == s.shape


@pytest.mark.parametrize('fn', [pkd_loss, cwd_loss])
def test_half_input_computed_in_float32(fn):
    s, t = maps(dtype=torch.float32)
    loss = fn(s.half(), t.half())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, fn(s.half().float(), t.half().float()))


def test_registered_modules():
    mmdet_registry = pytest.importorskip('mmdet.registry')
    import wkd_det  # noqa: F401  (registers the losses)
    s, t = maps(dtype=torch.float32)
    pkd = mmdet_registry.MODELS.build(dict(type='PKDLoss', eps=1e-3,
                                           loss_weight=15.0))
    assert pkd.input_kind == 'features'
    torch.testing.assert_close(pkd(s, t), 15.0 * pkd_loss(s, t, eps=1e-3))
    assert repr(pkd) == 'PKDLoss(eps=0.001, loss_weight=15.0)'
    cwd = mmdet_registry.MODELS.build(dict(type='CWDLoss', tau=2.0,
                                           loss_weight=50.0))
    assert cwd.input_kind == 'features'
    torch.testing.assert_close(cwd(s, t), 50.0 * cwd_loss(s, t, tau=2.0))
    assert repr(cwd) == 'CWDLoss(tau=2.0, loss_weight=50.0)'
    with pytest.raises(ValueError, match='CWDLoss: tau'):
        mmdet_registry.MODELS.build(dict(type='CWDLoss', tau=0.0))
    with pytest.raises(ValueError, match='PKDLoss: eps'):
        mmdet_registry.MODELS.build(dict(type='PKDLoss', eps=-1.0))


def test_config_bases_build_the_losses():
    """The loss dicts of the config bases, less the options the distiller
    consumes, build the registered modules."""
    mmdet_registry = pytest.importorskip('mmdet.registry')
    from mmengine.config import Config
    from utils import CONFIG_DIR

    import wkd_det  # noqa: F401
    for name in ('pkd', 'cwd'):
        cfg = Config.fromfile(f'{CONFIG_DIR}/_base_/distillation/{name}.py')
        loss_cfg = dict(cfg[f'loss_{name}'])
        assert loss_cfg.pop('levels') is None
        assert loss_cfg.pop('projector') == 'identity'
        assert mmdet_registry.MODELS.build(loss_cfg).input_kind == 'features'


@pytest.mark.parametrize('fn', [pkd_loss, cwd_loss])
def test_batch_call_is_the_mean_of_per_image_calls(fn):
    """What lets the distiller crop the padding image by image."""
    s, t = maps(3, 2, 4, 4, seed=10)
    per_image = sum(fn(s[i:i + 1], t[i:i + 1]) for i in range(3)) / 3
    torch.testing.assert_close(fn(s, t), per_image)


def test_in_the_distiller_without_projector(tmp_path):
    """Both terms run on every FPN level of a digits pair with identity
    projectors and train the student's neck."""
    pytest.importorskip('mmdet')
    from test_distiller import (batch, build_distiller, digits_model,
                                random_checkpoint)
    ckpt = random_checkpoint(digits_model('retinanet_r18_fpn_digits'),
                             str(tmp_path / 'teacher.pth'))
    distiller = build_distiller('retinanet', ckpt, {
        'loss_pkd': dict(type='PKDLoss', loss_weight=15.0,
                         projector='identity'),
        'loss_cwd': dict(type='CWDLoss', loss_weight=50.0,
                         projector='identity')}).train()
    assert distiller.distiller_state_dict() == {}
    losses = distiller.loss(*batch())
    total = losses['loss_pkd'] + losses['loss_cwd']
    assert torch.isfinite(total) and losses['loss_pkd'] > 0
    assert losses['loss_cwd'] > 0
    total.backward()
    grads = [p.grad for p in distiller.student.neck.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
