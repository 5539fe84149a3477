"""Failing early and clearly on bad input, robustness during training, and
resuming a killed distillation run."""
import copy
import math
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import HOOKS, MODELS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from test_cost_matrix import MakeDirOnLoad
from test_distiller import (DIGITS, LOGIT_AND_FEATURE, batch, build_distiller,
                            digits_model, random_checkpoint, teacher_ckpts)
from test_distiller_tools import (TESTS_DIR, assert_tensors_equal, load_probe,
                                  logged_losses)
from utils import REPO_ROOT, digits_cfg_options, run_tool

from wkd_det.checkpoint import load_checkpoint_safely
from wkd_det.cost_matrix import BACKGROUND, save_cost_matrix
from wkd_det.datasets import DIGIT_CLASSES
from wkd_det.engine import DistillClassCheckHook

__all__ = ['teacher_ckpts']  # the fixture, shared with test_distiller

KD = {'loss_kd': dict(type='KDLoss')}
ALL_TERMS = dict(LOGIT_AND_FEATURE, loss_kd=dict(type='KDLoss'),
                 loss_fitnet=dict(type='FitNetLoss'))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')


def retinanet_config(**head):
    """The R18 RetinaNet digits config, ``bbox_head`` updated with ``head``."""
    cfg = Config.fromfile(osp.join(DIGITS, 'retinanet_r18_fpn_digits.py'))
    cfg.model.bbox_head.update(head)
    return cfg


def class_check(distiller, classes=DIGIT_CLASSES):
    """Run :class:`DistillClassCheckHook` for a dataset of ``classes``."""
    dataset = SimpleNamespace(metainfo={'classes': tuple(classes)})
    runner = SimpleNamespace(model=distiller, train_dataloader=SimpleNamespace(
        dataset=dataset))
    DistillClassCheckHook().before_train(runner)


# -- clear errors at build or before training --------------------------------


def test_refuses_other_num_classes(tmp_path):
    teacher = retinanet_config(num_classes=5)
    ckpt = random_checkpoint(teacher.model, str(tmp_path / 't.pth'))
    with pytest.raises(ValueError, match='student has num_classes=10, '
                       'teacher_config 5'):
        build_distiller('retinanet', ckpt, {'loss_f': dict(type='WKDFLoss')},
                        teacher=teacher)


def test_refuses_other_class_order(teacher_ckpts, tmp_path):
    state = load_checkpoint_safely(teacher_ckpts['retinanet'])['state_dict']
    ckpt = str(tmp_path / 'meta.pth')
    reordered = list(reversed(DIGIT_CLASSES))
    torch.save({'state_dict': state,
                'meta': {'dataset_meta': {'classes': reordered}}}, ckpt)
    distiller = build_distiller('retinanet', ckpt, KD)
    with pytest.raises(ValueError, match=r"trained on 10 classes \(meta.*"
                       r"first differences .* \[\(0, '9', '0'\)"):
        class_check(distiller)
    class_check(distiller, reordered)
    torch.save({'state_dict': state,
                'meta': {'dataset_meta': {'classes': ['a', 'b']}}}, ckpt)
    with pytest.raises(ValueError, match=r"classes'\] has 2 classes, the "
                       'teacher config num_classes=10'):
        build_distiller('retinanet', ckpt, KD)


def _text_file(path):
    path.write_text('not a checkpoint')


def _truncated(path):
    torch.save({'state_dict': {'w': torch.zeros(8)}}, path)
    path.write_bytes(path.read_bytes()[:100])


def _no_tensors(path):
    torch.save({'state_dict': {'epoch': 3}}, path)


@pytest.mark.parametrize('make, match', [
    (None, 'no such file'),
    (_text_file, 'not a readable torch checkpoint'),
    (_truncated, 'not a readable torch checkpoint'),
    (_no_tensors, 'not a checkpoint; expected a dict of tensors'),
])
def test_refuses_unreadable_teacher_checkpoint(tmp_path, make, match):
    path = tmp_path / 'teacher.pth'
    if make is not None:
        make(path)
    with pytest.raises(ValueError, match=f'teacher_ckpt {path}: {match}'):
        build_distiller('retinanet', str(path), KD)


def test_teacher_keys_checked_with_tolerance(teacher_ckpts, tmp_path):
    state = load_checkpoint_safely(teacher_ckpts['retinanet'])['state_dict']
    state = {f'module.{k}': v for k, v in state.items()}  # DDP names load
    state.pop('module.bbox_head.retina_cls.bias')
    state['module.extra.weight'] = torch.zeros(1)
    ckpt = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': state}, ckpt)
    with pytest.raises(ValueError, match=r'does not match teacher_config: 1 '
                       r'missing, 1 unexpected, 0 reshaped keys \('
                       'teacher_key_tolerance=0'):
        build_distiller('retinanet', ckpt, KD)
    distiller = MODELS.build(dict(
        type='DetectionDistiller', student=digits_model(
            'retinanet_r18_fpn_digits'),
        teacher_config=osp.join(DIGITS, 'retinanet_r18_fpn_digits.py'),
        teacher_ckpt=ckpt, distill_losses=KD, teacher_key_tolerance=2))
    assert torch.equal(distiller.teacher.neck.fpn_convs[0].conv.weight,
                       state['module.neck.fpn_convs.0.conv.weight'])


def test_teacher_checkpoint_with_pickled_object_is_not_executed(
        teacher_ckpts, tmp_path):
    marker = str(tmp_path / 'executed')
    state = load_checkpoint_safely(teacher_ckpts['retinanet'])['state_dict']
    ckpt = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': state, 'meta': MakeDirOnLoad(marker)}, ckpt)
    with pytest.raises(ValueError, match='teacher_ckpt .*weights_only load '
                       'refused .*mkdir'):
        build_distiller('retinanet', ckpt, KD)
    assert not osp.exists(marker)


def test_refuses_feature_levels_of_other_strides(teacher_ckpts):
    student = digits_model('retinanet_r18_fpn_digits')
    student.neck.start_level = 0  # strides 4..64, the teacher's 8..128
    with pytest.raises(ValueError, match=r'distill_losses.loss_f: levels '
                       r'\[0\] have strides the teacher neck lacks'):
        build_distiller('retinanet', teacher_ckpts['retinanet'], {
            'loss_f': dict(type='FitNetLoss', levels=[0])}, student=student)


def test_cost_file_of_other_classes_refused_before_training(
        teacher_ckpts, tmp_path):
    path = str(tmp_path / 'cost.pth')
    letters = [chr(ord('a') + i) for i in range(10)] + [BACKGROUND]
    save_cost_matrix(path, 1 - torch.eye(11), letters)
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'], {
        'loss_wkd_l': dict(type='WKDLLoss', cost=path)})
    with pytest.raises(ValueError, match=r'distill_losses.loss_wkd_l.cost: '
                       'cost matrix file .* class names do not match'):
        class_check(distiller)
    save_cost_matrix(path, 1 - torch.eye(11), [*DIGIT_CLASSES, BACKGROUND])
    class_check(distiller)


# -- robustness during training ----------------------------------------------


def _without_gt(samples):
    for sample in samples:
        sample.gt_instances = InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    return samples


def _backward(losses):
    total = sum(v for k, v in losses.items() if 'loss' in k and not
                isinstance(v, list)) + sum(sum(v) for v in losses.values()
                                           if isinstance(v, list))
    total.backward()


@pytest.mark.parametrize('kind', ['faster-rcnn', 'retinanet'])
def test_images_without_ground_truth(teacher_ckpts, kind):
    distiller = build_distiller(kind, teacher_ckpts[kind], ALL_TERMS).train()
    inputs, samples = batch()
    losses = distiller.loss(inputs, _without_gt(samples))
    for name in ALL_TERMS:
        assert torch.isfinite(losses[name]), name
    _backward(losses)


def test_no_rois_gives_zero_logit_terms(teacher_ckpts):
    distiller = build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'],
                                ALL_TERMS).train()
    rpn = distiller.student.rpn_head
    loss_and_predict = rpn.loss_and_predict

    def no_proposals(*args, **kwargs):
        losses, proposals = loss_and_predict(*args, **kwargs)
        return losses, [p[:0] for p in proposals]

    rpn.loss_and_predict = no_proposals
    inputs, samples = batch()
    losses = distiller.loss(inputs, _without_gt(samples))
    for name in ('loss_wkd_l', 'loss_bdd', 'loss_kd'):
        assert losses[name] == 0 and losses[name].requires_grad
    assert losses['loss_wkd_f'] > 0
    _backward(losses)


@pytest.mark.parametrize('module, what', [('neck', 'FPN features'),
                                          ('bbox_head', 'logits')])
def test_non_finite_teacher_outputs_raise_with_iteration(
        teacher_ckpts, module, what):
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'],
                                ALL_TERMS).train()
    with torch.no_grad():
        for param in getattr(distiller.teacher, module).parameters():
            param.fill_(float('nan'))
    MessageHub.get_current_instance().update_info('iter', 7)
    with pytest.raises(FloatingPointError, match=f'teacher {what} are '
                       'non-finite .* at iteration 7'):
        distiller.loss(*batch())


def test_autocast_losses_are_float32(teacher_ckpts):
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'],
                                ALL_TERMS).train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = distiller.loss(*batch())
    for name in ALL_TERMS:
        assert losses[name].dtype == torch.float32, name
        assert torch.isfinite(losses[name]) and losses[name] > 0, name
    _backward(losses)


# -- through tools/train.py: --amp, SIGKILL and --resume ----------------------

TOOL_CONFIG = """_base_ = {base!r}
custom_imports = dict(
    imports=['wkd_det', 'test_distiller_tools', 'test_reliability'],
    allow_failed_imports=False)
custom_hooks = _base_.custom_hooks + [
    dict(type='DistillClassCheckHook'), dict(type='DistillProbeHook'),
    dict(type='PauseAfterFirstEpochHook')]
"""


@HOOKS.register_module()
class PauseAfterFirstEpochHook(Hook):
    """With ``WKD_TEST_PAUSE`` set, sleep after epoch 1's checkpoint is
    saved, so that a test can kill the run there."""
    priority = 'LOWEST'  # after CheckpointHook

    def after_train_epoch(self, runner) -> None:
        if os.environ.get('WKD_TEST_PAUSE') and runner.epoch == 1:
            time.sleep(600)


@pytest.fixture(scope='module')
def r18_teachers(teacher_ckpts):
    """R18 teachers with their config (the digits configs name R50)."""
    return {kind: (teacher_ckpts[kind],
                   osp.join(DIGITS, f'{kind}_r18_fpn_digits.py'))
            for kind in teacher_ckpts}


def train_args(config, work_dir, data_root, teacher, *options):
    """``tools/train.py`` arguments: ``configs/digits/<config>.py`` with the
    probe and class-check hooks, 4 images, batch 2, no validation."""
    os.makedirs(work_dir, exist_ok=True)
    tool_config = osp.join(work_dir, 'tool_config.py')
    with open(tool_config, 'w') as f:
        f.write(TOOL_CONFIG.format(base=osp.join(DIGITS, f'{config}.py')))
    ckpt, teacher_config = teacher
    return [TRAIN, tool_config, '--work-dir', work_dir, '--cfg-options',
            *digits_cfg_options(data_root, 2, 4, tool_config),
            f'model.teacher_ckpt={ckpt}',
            f'model.teacher_config={teacher_config}', 'val_cfg=None',
            'val_dataloader=None', 'val_evaluator=None',
            'default_hooks.logger.interval=1', 'randomness.seed=0', *options]


def test_amp_on_cpu_trains_with_finite_distillation_losses(
        tiny_digits, r18_teachers, tmp_path):
    work_dir = str(tmp_path / 'amp')
    args = train_args('wkd-lf_retinanet_r50_to_r18_digits', work_dir,
                      tiny_digits, r18_teachers['retinanet'],
                      'train_cfg.max_epochs=1')
    proc = run_tool(*args[:1], '--amp', *args[1:],
                    env={'PYTHONPATH': TESTS_DIR})
    assert "type='CPUAmpOptimWrapper'" in proc.stdout + proc.stderr
    entries = logged_losses(work_dir)
    assert len(entries) == 2
    for entry in entries:
        for term in ('loss_wkd_l', 'loss_wkd_f'):
            assert torch.isfinite(torch.tensor(entry[term])), entry


def test_killed_run_resumes(tiny_digits, r18_teachers, tmp_path):
    teacher = r18_teachers['faster-rcnn']
    work_dir = str(tmp_path / 'work')
    args = train_args('wkd-lf_faster-rcnn_r50_to_r18_digits', work_dir,
                      tiny_digits, teacher, 'train_cfg.max_epochs=2',
                      'custom_hooks.0.start=0')
    env = dict(os.environ, WKD_TEST_PAUSE='1', PYTHONPATH=os.pathsep.join(
        (REPO_ROOT, TESTS_DIR)))
    run = subprocess.Popen([sys.executable, *args], env=env, cwd=work_dir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = osp.join(work_dir, 'last_checkpoint')
    deadline = time.time() + 600
    while not osp.exists(last) and run.poll() is None \
            and time.time() < deadline:
        time.sleep(0.5)
    run.send_signal(signal.SIGKILL)
    stderr = run.communicate()[1].decode()
    assert run.returncode == -signal.SIGKILL, stderr[-3000:]
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))

    proc = run_tool(*args, '--resume', env={'PYTHONPATH': TESTS_DIR})
    assert 'resumed epoch: 1, iter: 2' in proc.stdout + proc.stderr
    resumed = load_probe(work_dir)
    epoch_1 = load_checkpoint_safely(osp.join(work_dir, 'epoch_1.pth'))
    teacher_state = load_checkpoint_safely(teacher[0])['state_dict']
    assert_tensors_equal(resumed['before']['teacher'], teacher_state)
    assert_tensors_equal(resumed['before']['projectors'],
                         epoch_1['wkd_distiller'])
    assert_tensors_equal(resumed['before']['student'], epoch_1['state_dict'])
    assert resumed['scales'] == pytest.approx(
        {t: (1 + math.cos(math.pi * t / 4)) / 2 for t in (2, 3)})
    student = MODELS.build(digits_model('faster-rcnn_r18_fpn_digits'))
    final = load_checkpoint_safely(osp.join(work_dir, 'epoch_2.pth'))
    student.load_state_dict(final['state_dict'], strict=True)
    assert_tensors_equal(copy.deepcopy(student.state_dict()),
                         resumed['after']['student'])
