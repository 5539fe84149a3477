"""Distillation through MMDetection's installed train and test tools.

The training runs import this module (``custom_imports``) for
:class:`DistillProbeHook`, which saves what the test checks afterwards:
teacher, student and projector weights and the optimizer state before and
after training, and the loss-weight scale of every iteration.
"""
import copy
import json
import math
import os
import os.path as osp
import pickle
import re

import pytest
import torch
from mmdet.registry import HOOKS, MODELS
from mmengine.hooks import Hook
from test_distiller import digits_checkpoints, digits_model
from utils import (CONFIG_DIR, digits_cfg_options, mmdet_tool, run_tool,
                   scratch_dir)

from wkd_det.checkpoint import load_checkpoint_safely

TESTS_DIR = osp.dirname(osp.abspath(__file__))
DIGITS = osp.join(CONFIG_DIR, 'digits')
PROBE_CONFIG = """_base_ = {base!r}
custom_imports = dict(imports=['wkd_det', 'test_distiller_tools'],
                      allow_failed_imports=False)
custom_hooks = _base_.custom_hooks + [dict(type='DistillProbeHook')]
"""


@HOOKS.register_module()
class DistillProbeHook(Hook):
    """Saves ``work_dir/probe.pth`` (see module docstring)."""
    priority = 'LOWEST'  # after DistillLossWeightHook has set the scale

    def before_train(self, runner) -> None:
        self.record = {'before': self.snapshot(runner), 'scales': {}}

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.record['scales'][runner.iter] = runner.model.loss_weight_scale

    def after_train(self, runner) -> None:
        self.record['after'] = self.snapshot(runner)
        torch.save(self.record, osp.join(runner.work_dir, 'probe.pth'))

    @staticmethod
    def snapshot(runner) -> dict:
        model = runner.model
        return copy.deepcopy({
            'teacher': model.teacher.state_dict(),
            'student': model.student.state_dict(),
            'projectors': model.distiller_state_dict(),
            'optimizer': runner.optim_wrapper.state_dict(),
        })


@pytest.fixture(scope='module')
def teachers(tmp_path_factory):
    """Randomly initialised R50 teachers of the digits configs."""
    with scratch_dir(tmp_path_factory, 'digits_teachers') as root:
        yield digits_checkpoints(
            root, ('faster-rcnn', 'retinanet', 'cascade-rcnn', 'fcos'),
            arch='r50')


def train(config, work_dir, data_root, teacher_ckpt, *options, resume=None):
    """Train ``configs/digits/<config>.py`` with the probe on 4 images,
    batch 2, without validation; return the probe record."""
    probe_config = osp.join(work_dir, 'probe_config.py')
    os.makedirs(work_dir, exist_ok=True)
    with open(probe_config, 'w') as f:
        f.write(PROBE_CONFIG.format(base=osp.join(DIGITS, f'{config}.py')))
    args = [mmdet_tool('train'), probe_config, '--work-dir', work_dir]
    if resume:
        args += ['--resume', resume]
    args += ['--cfg-options', *digits_cfg_options(data_root, 2, 4, probe_config),
             f'model.teacher_ckpt={teacher_ckpt}', 'val_cfg=None',
             'val_dataloader=None', 'val_evaluator=None',
             'default_hooks.logger.interval=1', 'randomness.seed=0',
             *options]
    run_tool(*args, env={'PYTHONPATH': TESTS_DIR})
    return load_probe(work_dir)


def load_probe(work_dir):
    """The probe record of a run, on the CPU like the checkpoints it is
    compared with (MMEngine trains on CUDA where there is one)."""
    return torch.load(osp.join(work_dir, 'probe.pth'), weights_only=False,
                      map_location='cpu')


def logged_losses(work_dir):
    """Every logged training iteration's scalars, from vis_data."""
    (path, ) = [osp.join(d, f) for d, _, files in os.walk(work_dir)
                for f in files if f == 'scalars.json']
    with open(path) as f:
        return [json.loads(line) for line in f if '"loss"' in line]


def assert_tensors_equal(a: dict, b: dict, equal=True):
    assert a.keys() == b.keys()
    same = [torch.equal(a[k], b[k]) for k in a]
    assert all(same) if equal else not all(same)


def check_distilled(record, work_dir, teacher_ckpt, terms):
    """Finite, non-zero distillation losses in the log; teacher untouched;
    student trained; the checkpoint a plain student checkpoint."""
    for entry in logged_losses(work_dir):
        for term in terms:
            assert math.isfinite(entry[term]) and entry[term] != 0, entry
    teacher = load_checkpoint_safely(teacher_ckpt)['state_dict']
    assert_tensors_equal(record['before']['teacher'], teacher)
    assert_tensors_equal(record['after']['teacher'], teacher)
    assert_tensors_equal(record['before']['student'],
                         record['after']['student'], equal=False)


RETINANET_BDD = ('model.distill_losses.loss_wkd_l=None',
                 'model.distill_losses.loss_wkd_f=None',
                 'model.distill_losses.loss_bdd.type=BDDLoss')


@pytest.mark.parametrize('config, kind, terms, options', [
    ('wkd-lf_retinanet_r50_to_r18_digits', 'retinanet',
     ('loss_wkd_l', 'loss_wkd_f'), ()),
    ('wkd-lf_retinanet_r50_to_r18_digits', 'retinanet', ('loss_bdd', ),
     RETINANET_BDD),
    ('bdd_faster-rcnn_r50_to_r18_digits', 'faster-rcnn', ('loss_bdd', ), ()),
])
def test_train_tool_distills(tiny_digits, teachers, tmp_path, config, kind,
                             terms, options):
    work_dir = str(tmp_path / 'work')
    record = train(config, work_dir, tiny_digits, teachers[kind],
                   'train_cfg.max_epochs=1', *options)
    check_distilled(record, work_dir, teachers[kind], terms)
    checkpoint = load_checkpoint_safely(osp.join(work_dir, 'epoch_1.pth'))
    student = MODELS.build(digits_model(f'{kind}_r18_fpn_digits'))
    assert list(checkpoint['state_dict']) == list(student.state_dict())


def mmdet_test(config, checkpoint, data_root, out_dir, *options):
    """bbox_mAP (None when the model detected nothing) and predictions of
    MMDetection's test tool."""
    out = osp.join(out_dir, 'predictions.pkl')
    proc = run_tool(mmdet_tool('test'), osp.join(DIGITS, f'{config}.py'),
                    checkpoint, '--work-dir', out_dir, '--out', out,
                    '--cfg-options', *digits_cfg_options(data_root),
                    *options)
    log = proc.stdout + proc.stderr
    assert 'do not match exactly' not in log, log[-3000:]
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    found = re.search(r'bbox_mAP: (-?[\d.]+)', log)
    assert found or 'results of the whole dataset is empty' in log, log[-3000:]
    return found and found.group(1), predictions


def test_wkd_lf_train_resume_and_test(tiny_digits, teachers, tmp_path):
    """Faster R-CNN WKD-L+F: train 2 epochs; resume epoch 2 from epoch 1;
    evaluate the result with the plain student and the distiller config."""
    teacher = teachers['faster-rcnn']
    config = 'wkd-lf_faster-rcnn_r50_to_r18_digits'
    # a learnable projector, so that its state is saved and resumed
    cosine = ('train_cfg.max_epochs=2', 'custom_hooks.0.start=0',
              'model.distill_losses.loss_wkd_f.projector=conv')
    first = str(tmp_path / 'first')
    record = train(config, first, tiny_digits, teacher, *cosine)
    check_distilled(record, first, teacher, ('loss_wkd_l', 'loss_wkd_f'))
    scales = [record['scales'][i] for i in range(4)]
    assert scales == pytest.approx(
        [(1 + math.cos(math.pi * i / 4)) / 2 for i in range(4)])
    assert [e['distill_weight'] for e in logged_losses(first)] == \
        pytest.approx(scales)

    epoch_1 = load_checkpoint_safely(osp.join(first, 'epoch_1.pth'))
    assert set(epoch_1['wkd_distiller']) == {
        f'loss_wkd_f.{level}.{p}' for level in range(5)
        for p in ('weight', 'bias')
    }
    resumed = train(config, str(tmp_path / 'resumed'), tiny_digits, teacher,
                    *cosine, resume=osp.join(first, 'epoch_1.pth'))
    assert resumed['scales'] == {2: record['scales'][2],
                                 3: record['scales'][3]}
    assert_tensors_equal(resumed['before']['projectors'],
                         epoch_1['wkd_distiller'])
    assert_tensors_equal(resumed['before']['teacher'],
                         record['before']['teacher'])
    assert_tensors_equal(resumed['before']['student'], epoch_1['state_dict'])
    optimizer = resumed['before']['optimizer']
    for index, state in epoch_1['optimizer']['state'].items():
        assert_tensors_equal(optimizer['state'][index], state)

    checkpoint = osp.join(first, 'epoch_2.pth')
    plain_map, plain = mmdet_test('faster-rcnn_r18_fpn_digits', checkpoint,
                                  tiny_digits, str(tmp_path / 'test_plain'))
    distill_map, distilled = mmdet_test(
        config, checkpoint, tiny_digits, str(tmp_path / 'test_distill'),
        f'model.teacher_ckpt={teacher}')
    assert plain_map == distill_map
    assert len(plain) == len(distilled) == 4
    for a, b in zip(plain, distilled):
        assert_tensors_equal(a['pred_instances'], b['pred_instances'])


@pytest.mark.parametrize('kind', ['cascade-rcnn', 'fcos'])
def test_other_families_train_and_test_as_plain_students(
        tiny_digits, teachers, tmp_path, kind):
    """Cascade R-CNN (per-stage RoI logits) and FCOS (point logits): WKD-L
    and WKD-F through MMDetection's train tool, then the checkpoint
    evaluated by its test tool with the plain student config."""
    work_dir = str(tmp_path / 'work')
    record = train(f'wkd-lf_{kind}_r50_to_r18_digits', work_dir, tiny_digits,
                   teachers[kind], 'train_cfg.max_epochs=1')
    check_distilled(record, work_dir, teachers[kind],
                    ('loss_wkd_l', 'loss_wkd_f'))
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    student = MODELS.build(digits_model(f'{kind}_r18_fpn_digits'))
    assert list(load_checkpoint_safely(checkpoint)['state_dict']) == list(
        student.state_dict())
    bbox_map, predictions = mmdet_test(f'{kind}_r18_fpn_digits', checkpoint,
                                       tiny_digits, str(tmp_path / 'test'))
    assert bbox_map is None or 0.0 <= float(bbox_map) <= 1.0
    assert len(predictions) == 4
