"""Pretrained backbones of the shipped configs load without torchvision.

MMEngine resolves a ``torchvision://`` checkpoint by importing torchvision
(``mmengine.runner.checkpoint.load_from_torchvision``); the configs name the
weight files' own URLs instead, read by MMEngine's http loader. No network:
the http loader is replaced by one serving weights of the right shapes.
"""
import importlib.abc
import os.path as osp
import sys

import mmengine
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import checkpoint as mmengine_checkpoint
from test_configs import CONFIGS
from utils import CONFIG_DIR

import wkd_det  # noqa: F401
from wkd_det.models import teacher as teacher_module

# MMEngine's table of torchvision's weight URLs ('resnet18' is what
# 'torchvision://resnet18' resolves to: ResNet18_Weights.IMAGENET1K_V1)
TORCHVISION_URLS = mmengine.load(
    osp.join(mmengine.__path__[0], 'hub', 'torchvision_0.12.json'))


def pretrained_checkpoints(node, where='model'):
    """``(where, checkpoint)`` of every ``type='Pretrained'`` dict in a
    config node."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            yield where, node.get('checkpoint')
        for key, value in node.items():
            yield from pretrained_checkpoints(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from pretrained_checkpoints(value, f'{where}[{i}]')


@pytest.mark.parametrize('config', CONFIGS)
def test_no_torchvision_pretrained(config):
    """No Pretrained init of a shipped model (the student included) needs
    torchvision; torchvision weights are named by a URL from MMEngine's
    table. A teacher config's init is never run (the teacher is loaded from
    its checkpoint and is no submodule: see
    :func:`test_init_weights_without_torchvision`)."""
    model = Config.fromfile(osp.join(CONFIG_DIR, config)).model
    found = list(pretrained_checkpoints(model))
    if model.type == 'DetectionDistiller':
        assert any(where.startswith('model.student.') for where, _ in found)
    for where, checkpoint in found:
        assert not checkpoint.startswith(('torchvision://', 'modelzoo://')), (
            f'{config}: {where}.checkpoint={checkpoint!r} imports torchvision')
        if checkpoint.startswith('https://download.pytorch.org/'):
            assert checkpoint in TORCHVISION_URLS.values(), (config, where)


def torchvision_resnet18_keys():
    """State-dict keys of torchvision's ResNet-18 (BasicBlock x [2, 2, 2, 2],
    a conv + BN downsample in the first block of layers 2-4, fc head)."""
    keys = ['conv1.weight']
    bn = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')
    keys += [f'bn1.{p}' for p in bn]
    for layer in range(1, 5):
        for block in range(2):
            prefix = f'layer{layer}.{block}'
            for i in (1, 2):
                keys.append(f'{prefix}.conv{i}.weight')
                keys += [f'{prefix}.bn{i}.{p}' for p in bn]
            if layer > 1 and block == 0:
                keys.append(f'{prefix}.downsample.0.weight')
                keys += [f'{prefix}.downsample.1.{p}' for p in bn]
    return keys + ['fc.weight', 'fc.bias']


class _NoTorchvision(importlib.abc.MetaPathFinder):
    """Refuses (and records) every import of torchvision."""

    def __init__(self):
        self.attempts = []

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'torchvision':
            self.attempts.append(name)
            raise ModuleNotFoundError(f'No module named {name!r} (test)')
        return None


@pytest.mark.parametrize('config', [
    'wkd/wkd-lf_faster-rcnn_r101_to_r18_fpn_1x_coco.py',
    'students/retinanet_r18_fpn_1x_coco.py',
])
def test_init_weights_without_torchvision(config, monkeypatch):
    """Building the model and its ``init_weights`` load the R18 student's
    ImageNet weights (a torchvision-layout checkpoint, fc head ignored)
    from their URL, and never import torchvision; a distiller never runs
    its teacher config's ``torchvision://resnet101`` init."""
    guard = _NoTorchvision()
    for name in [n for n in sys.modules if n.split('.')[0] == 'torchvision']:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, 'meta_path', [guard, *sys.meta_path])

    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    distiller = cfg.model.type == 'DetectionDistiller'
    if distiller:
        # the teacher's weights are not under test: build it, load nothing
        monkeypatch.setattr(teacher_module, 'read_teacher_checkpoint',
                            lambda checkpoint: ({}, {}))
        monkeypatch.setattr(teacher_module, 'load_teacher_weights',
                            lambda *args, **kwargs: None)
    model = MODELS.build(cfg.model)
    backbone = model.student.backbone if distiller else model.backbone

    # ResNet-18 of MMDetection and of torchvision share their key layout
    own = backbone.state_dict()
    keys = torchvision_resnet18_keys()
    assert set(keys) - {'fc.weight', 'fc.bias'} == set(own)
    torch.manual_seed(0)
    served = {k: torch.randn_like(own[k]) if own[k].is_floating_point()
              else own[k].clone() for k in keys[:-2]}
    served.update({'fc.weight': torch.randn(1000, 512),
                   'fc.bias': torch.randn(1000)})
    urls = []

    def load_from_http(filename, map_location=None, **kwargs):
        urls.append(filename)
        return {k: v.clone() for k, v in served.items()}

    monkeypatch.setattr(mmengine_checkpoint, 'load_from_http', load_from_http)
    for prefix in ('http://', 'https://'):
        monkeypatch.setitem(mmengine_checkpoint.CheckpointLoader._schemes,
                            prefix, load_from_http)

    model.init_weights()

    assert urls == [TORCHVISION_URLS['resnet18']]
    loaded = backbone.state_dict()
    for key in own:
        assert torch.equal(loaded[key], served[key]), key
    assert guard.attempts == []
    assert 'torchvision' not in sys.modules
