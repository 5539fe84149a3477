"""The registered loss modules build from config dicts and wrap the math."""
import pytest
import torch
from mmdet.registry import MODELS

import wkd_det
from wkd_det.functional import (bdd_loss, fitnet_loss, kd_loss, uniform_cost,
                                wkd_feature_loss, wkd_logit_loss)


def test_logit_losses_from_config():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    y = torch.tensor([0, 1, 2, 3, 0])
    wkd = MODELS.build(dict(type='WKDLLoss', tau=3.0, wd_weight=20.0,
                            loss_weight=0.5))
    assert wkd.input_kind == 'logits'
    torch.testing.assert_close(
        wkd(s, t, y), 0.5 * wkd_logit_loss(s, t, y, uniform_cost(4), tau=3.0,
                                           wd_weight=20.0))
    cost = torch.rand(4, 4).fill_diagonal_(0)
    wkd.set_cost(cost)
    torch.testing.assert_close(
        wkd(s, t, y), 0.5 * wkd_logit_loss(s, t, y, cost, tau=3.0,
                                           wd_weight=20.0))
    kd = MODELS.build(dict(type='KDLoss', tau=2.0, loss_weight=3.0))
    torch.testing.assert_close(kd(s, t, y), 3.0 * kd_loss(s, t, 2.0))
    bdd = MODELS.build(dict(type='BDDLoss', tau_forward=2.0, tau_reverse=5.0,
                            beta=0.5, loss_weight=2.0))
    torch.testing.assert_close(bdd(s, t, y), 2.0 * bdd_loss(s, t, 2.0, 5.0,
                                                            1.0, 0.5))


def test_feature_losses_from_config():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    wkd_f = MODELS.build(dict(type='WKDFLoss', grid=2, gamma=4.0,
                              loss_weight=0.1))
    assert wkd_f.input_kind == 'features'
    torch.testing.assert_close(wkd_f(a, b),
                               0.1 * wkd_feature_loss(a, b, grid=2, gamma=4.0))
    full = MODELS.build(dict(type='WKDFLoss', grid=2, covariance='full'))
    torch.testing.assert_close(
        full(a, b), wkd_feature_loss(a, b, grid=2, covariance='full'))
    with pytest.raises(ValueError, match='covariance'):
        MODELS.build(dict(type='WKDFLoss', covariance='Full'))
    windowed = MODELS.build(dict(type='WKDFLoss', window=3, normalize=True))
    torch.testing.assert_close(
        windowed(a, b), wkd_feature_loss(a, b, window=3, normalize=True))
    with pytest.raises(ValueError, match='window'):
        MODELS.build(dict(type='WKDFLoss', window=4))
    fit = MODELS.build(dict(type='FitNetLoss', loss_weight=2.0))
    torch.testing.assert_close(fit(a, b), 2.0 * fitnet_loss(a, b))


def test_cost_buffer_is_not_saved():
    wkd = MODELS.build(dict(type='WKDLLoss'))
    wkd.set_cost(uniform_cost(3))
    assert 'cost' not in wkd.state_dict()


def test_math_package_imports_no_openmmlab():
    """The pure math must stay testable and benchmarkable without mmdet."""
    import pathlib
    import re
    root = pathlib.Path(wkd_det.__file__).parent / 'functional'
    for path in root.glob('*.py'):
        imports = re.findall(r'^\s*(?:from|import)\s+(\S+)', path.read_text(),
                             re.M)
        assert not [m for m in imports if m.split('.')[0] in
                    ('mmdet', 'mmengine', 'mmcv')], path
