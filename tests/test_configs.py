"""Every config under configs/ loads and builds its model.

Distillation configs get a generated checkpoint of their teacher's
architecture (randomly initialised, COCO class count intact) instead of the
model-zoo URL.
"""
import argparse
import glob
import os.path as osp

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from test_distiller import random_checkpoint
from utils import CONFIG_DIR, scratch_dir

import wkd_det  # noqa: F401
from wkd_det.models.teacher import load_teacher_config
from wkd_det.runs import LABELS, PAIRS, digits_options

# Sorted by the part after the method prefix (``wkd-lf_<pair>.py`` ->
# ``<pair>.py``), so configs that share a teacher are adjacent and the
# ``teacher_ckpt`` fixture makes each teacher checkpoint once.
CONFIGS = sorted(
    (osp.relpath(path, CONFIG_DIR)
     for path in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
     if '_base_' not in path.split(osp.sep)),
    key=lambda c: (osp.basename(c).split('_', 1)[-1], c))
DISTILL_HOOKS = {'DistillLossWeightHook', 'DistillerCheckpointHook'}


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    """``teacher_ckpt(teacher_config)``: a random checkpoint of that
    architecture.

    One file on disk at a time, rewritten when the teacher config changes
    and removed at teardown: COCO teachers (R101, X101, RTMDet-l) take
    0.2-0.5 GB each, and keeping them all filled a CI machine's disk.
    """
    current = {}
    with scratch_dir(tmp_path_factory, 'config_teacher') as root:
        path = str(root / 'teacher.pth')

        def make(teacher_config: str) -> str:
            if current.get('config') != teacher_config:
                model = load_teacher_config(teacher_config).model
                random_checkpoint(model, path)
                current['config'] = teacher_config
            return path

        yield make


def test_configs_are_found():
    assert {osp.dirname(c) for c in CONFIGS} >= {
        'digits', 'students', 'wkd', 'baselines'}


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config, teacher_ckpt):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    assert 'wkd_det' in cfg.custom_imports.imports
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if cfg.model.type == 'DetectionDistiller':
        assert DISTILL_HOOKS <= {hook.type for hook in cfg.custom_hooks}
        cfg.model.teacher_ckpt = teacher_ckpt(cfg.model.teacher_config)
    model = MODELS.build(cfg.model)
    if cfg.model.type == 'DetectionDistiller':
        assert set(model.distill_losses) == {
            name for name, term in cfg.model.distill_losses.items() if term}


@pytest.mark.parametrize('epochs, milestone', [(2, 2), (6, 5), (12, 10)])
def test_digits_options_move_the_step_decay(epochs, milestone):
    """The tools' ``--*-epochs`` keep the digits schedule's shape: the LR
    step at 5/6 of the epochs (at the end, so none, for 2)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(
        ['--cfg-options', *digits_options('data/digits', epochs)]).cfg_options
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'digits',
                                   'wkd-lf_retinanet_r50_to_r18_digits.py'))
    cfg.merge_from_dict(options)
    step = cfg.param_scheduler[1]
    assert cfg.train_cfg.max_epochs == epochs
    assert (step.type, step.end, step.milestones) == ('MultiStepLR', epochs,
                                                      [milestone])


def test_digits_pairs_name_shipped_configs():
    """The demo's and the benchmark's pairs name configs that exist: every
    method for Faster R-CNN and RetinaNet, the logit and WKD methods for
    the other families."""
    everywhere = ('kd', 'wkd-l', 'wkd-f', 'wkd-lf')
    for family, pair in PAIRS.items():
        methods = [m for m in LABELS if m != 'student'] if family in (
            'faster-rcnn', 'faster-rcnn-fpn128', 'retinanet',
            'retinanet-fpn128') else everywhere
        names = [pair['teacher'], pair['student']] + [
            pair['distill'].format(method=m) for m in methods]
        for name in names:
            assert osp.join('digits', name) in CONFIGS, (family, name)
