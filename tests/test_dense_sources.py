"""Logit sources of the dense heads beyond AnchorHead (FCOS, ATSS, GFL,
RTMDet) on random-weight digits-sized R18-FPN detectors: the teacher scores
the student's priors, targets and avg_factor are the student head's own,
the terms reach the student, and other prior layouts are refused."""
import copy
import inspect
from unittest import mock

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from test_distiller import batch, digits_model, random_checkpoint

from wkd_det.cost_matrix import classifier_weights
from wkd_det.models.logit_sources import (ATSSHeadLogits, FCOSHeadLogits,
                                          GFLHeadLogits, RTMDetHeadLogits,
                                          class_scores, find_logit_source)
from wkd_det.models.recorder import CallRecorder

ANCHORS = dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
               scales_per_octave=1, strides=[8, 16, 32, 64, 128])
QFL = dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
           loss_weight=1.0)
GIOU = dict(type='GIoULoss', loss_weight=2.0)
ATSS_TRAIN = dict(assigner=dict(type='ATSSAssigner', topk=9),
                  allowed_border=-1, pos_weight=-1, debug=False)
HEADS = dict(
    atss=('ATSS', dict(
        type='ATSSHead', anchor_generator=ANCHORS,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                        target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                      alpha=0.25, loss_weight=1.0),
        loss_bbox=GIOU,
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0)), ATSS_TRAIN),
    gfl=('GFL', dict(
        type='GFLHead', anchor_generator=ANCHORS, loss_cls=QFL,
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=16, loss_bbox=GIOU), ATSS_TRAIN),
    rtmdet=('RTMDet', dict(
        type='RTMDetSepBNHead',
        anchor_generator=dict(type='MlvlPointGenerator', offset=0,
                              strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'), loss_cls=QFL,
        loss_bbox=GIOU, with_objectness=False, pred_kernel_size=1,
        act_cfg=dict(type='SiLU')), dict(
            assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
            allowed_border=-1, pos_weight=-1, debug=False)))
#: per kind, the source and the name of the head's classifier
SOURCES = dict(fcos=(FCOSHeadLogits, 'conv_cls'),
               atss=(ATSSHeadLogits, 'atss_cls'),
               gfl=(GFLHeadLogits, 'gfl_cls'),
               rtmdet=(RTMDetHeadLogits, 'rtm_cls'))
TERMS = dict(
    loss_wkd_l=dict(type='WKDLLoss', wd_weight=10.0, cost='uniform'),
    loss_kd=dict(type='KDLoss'))


def dense_model(kind: str) -> dict:
    """Digits R18-FPN ``kind`` (random backbone): RetinaNet and FCOS from
    their digits configs, the others the digits RetinaNet with their head
    (two stacked 128-channel convs; RTMDet on P3-P5)."""
    if kind in ('retina', 'fcos'):
        model = digits_model(
            'retinanet_r18_fpn_digits' if kind == 'retina'
            else 'fcos_r18_fpn_digits')
    else:
        detector, head, train_cfg = copy.deepcopy(HEADS[kind])
        model = digits_model('retinanet_r18_fpn_digits')
        head.update(num_classes=10, in_channels=256, stacked_convs=2,
                    feat_channels=128)
        model.type, model.bbox_head, model.train_cfg = detector, head, train_cfg
        if kind == 'rtmdet':
            model.neck.update(num_outs=3, add_extra_convs=False)
    model.backbone.init_cfg = None
    return model


def distiller_of(student: dict, teacher: dict, tmp_path):
    """A DetectionDistiller of ``student`` with a random ``teacher``."""
    ckpt = random_checkpoint(teacher, str(tmp_path / 'teacher.pth'))
    return MODELS.build(dict(
        type='DetectionDistiller', student=student,
        teacher_config=Config(dict(model=teacher)), teacher_ckpt=ckpt,
        distill_losses=TERMS))


def record_calls(owner, name: str):
    """Patch ``owner.name`` to keep every call's (arguments, result)."""
    method = getattr(owner, name)
    signature = inspect.signature(method)
    calls = []

    def wrapper(*args, **kwargs):
        result = method(*args, **kwargs)
        calls.append((signature.bind(*args, **kwargs).arguments, result))
        return result

    return mock.patch.object(owner, name, wrapper), calls


def own_classification(kind: str, calls) -> tuple:
    """(scores, labels, label weights, avg_factor) of the student head's own
    classification loss, from its calls of ``loss_cls.forward`` (FCOS) or
    ``loss_by_feat_single`` (the others, one call per level)."""
    if kind == 'fcos':
        (args, _), = calls
        labels = args['target']
        return (args['pred'], labels, torch.ones_like(labels),
                max(float(args['avg_factor']), 1.0))
    scores = torch.cat([args['cls_score'].permute(0, 2, 3, 1).reshape(-1, 10)
                        for args, _ in calls])
    labels, weights = (torch.cat([args[key].reshape(-1) for args, _ in calls])
                       for key in ('labels', 'label_weights'))
    if kind == 'rtmdet':  # loss_cls is divided by the summed assign metrics
        avg_factor = sum(result[2] for _, result in calls).clamp(min=1).item()
    else:
        avg_factor = max(float(calls[0][0]['avg_factor']), 1.0)
    return scores, labels, weights, avg_factor


@pytest.mark.parametrize('kind', list(SOURCES))
def test_dense_source_reads_the_students_own_loss(kind, tmp_path):
    model = dense_model(kind)
    distiller = distiller_of(model, model, tmp_path).train()
    source_class, cls_conv = SOURCES[kind]
    assert type(distiller.logit_source) is source_class
    assert distiller.logit_source.default_neg_weight == 0.0
    head = distiller.student.bbox_head
    patch, calls = (record_calls(head.loss_cls, 'forward') if kind == 'fcos'
                    else record_calls(head, 'loss_by_feat_single'))
    source = CallRecorder(distiller.logit_source, 'collect')
    term = CallRecorder(distiller.distill_losses['loss_wkd_l'], 'forward')
    source.active = term.active = True
    inputs, samples = batch()
    teacher_reg_calls = []
    distiller.teacher.bbox_head.reg_convs[0].register_forward_hook(
        lambda *args: teacher_reg_calls.append(1))
    with patch:
        losses = distiller.loss(inputs, samples)
    # the teacher runs its classification branch alone (class_scores)
    assert not teacher_reg_calls or kind == 'rtmdet'
    logits = source.pop()[1]
    scores, labels, weights, avg_factor = own_classification(kind, calls)
    keep = weights > 0
    # the samples are the priors the student's loss weighs, its targets
    assert torch.equal(logits.labels, labels[keep])
    assert (logits.labels == 10).any() and (logits.labels < 10).any()
    assert torch.equal(logits.student_logits, scores[keep])
    assert logits.avg_factor == avg_factor
    # the teacher's head scores the same priors, row for row
    teacher = distiller.teacher.bbox_head
    with torch.no_grad():
        teacher_scores = teacher(distiller.teacher.extract_feat(inputs))[0]
    sizes = [score.shape[-2:] for score in teacher_scores]
    assert all(torch.equal(t, s) for t, s in zip(
        teacher.prior_generator.grid_priors(sizes, device=inputs.device),
        head.prior_generator.grid_priors(sizes, device=inputs.device)))
    teacher_logits = torch.cat([score.permute(0, 2, 3, 1).reshape(-1, 10)
                                for score in teacher_scores])
    assert teacher_logits.shape == scores.shape
    assert torch.equal(logits.teacher_logits, teacher_logits[keep])
    # at neg_weight 0 the terms get the positives, over the head's divisor
    term_inputs = term.pop()[0]
    assert torch.equal(term_inputs['labels'], labels[labels < 10])
    assert term_inputs['avg_factor'] == avg_factor
    # both terms reach the student's classifier and backbone
    classifier = [p for name, p in head.named_parameters()
                  if name.startswith(cls_conv)]
    backbone = distiller.student.backbone.layer4[-1].conv2.weight
    grads = torch.autograd.grad(losses['loss_wkd_l'] + losses['loss_kd'],
                                [backbone, *classifier])
    assert grads[0].abs().sum() > 0
    assert sum(grad.abs().sum() for grad in grads[1:]) > 0
    # cost='fc' reads the teacher's classifier: one vector per class + bg
    weights = classifier_weights(distiller.teacher)
    assert weights.shape[0] == 11 and not weights[-1].any()


@pytest.mark.parametrize('kind', ['retina', 'fcos', 'atss', 'gfl', 'rtmdet'])
@pytest.mark.parametrize('subclass', [False, True])
def test_teacher_runs_the_classification_branch_alone(kind, subclass):
    """class_scores equals the head's own first output; the heads of
    CLASS_BRANCHES skip their regression convs, and a subclass that
    overrides forward_single (or RTMDet, whose objectness may mix the
    branches) runs its whole forward."""
    head = MODELS.build(dense_model(kind)).bbox_head.eval()
    if subclass:
        head.__class__ = type('OwnHead', (type(head),), dict(
            forward_single=lambda self, *args: super(
                type(self), self).forward_single(*args)))
    feats = [torch.randn(2, 256, size, size) for size in (8, 4, 2, 1, 1)]
    feats = feats[:len(head.prior_generator.strides)]
    reg_calls = []
    for conv in head.reg_convs.modules():
        conv.register_forward_hook(lambda *args: reg_calls.append(1))
    with torch.no_grad():
        scores = class_scores(head, feats)
        skipped = not reg_calls
        expected = head(feats)[0]
    assert all(torch.equal(s, e) for s, e in zip(scores, expected))
    assert len(scores) == len(expected)
    assert skipped == (kind != 'rtmdet' and not subclass)


def test_rtmdet_head_without_separate_bn_is_read_too():
    model = dense_model('rtmdet')
    model.bbox_head.type = 'RTMDetHead'
    assert find_logit_source(MODELS.build(model)) is RTMDetHeadLogits


@pytest.mark.parametrize('kind, change, match', [
    ('fcos', dict(strides=[4, 8, 16, 32, 64]), 'same point layout'),
    ('atss', dict(anchor_generator=dict(ANCHORS, octave_base_scale=8)),
     'same anchor layout'),
    ('gfl', dict(anchor_generator=dict(ANCHORS, strides=[8, 16, 32, 64])),
     'same anchor layout'),
    ('rtmdet', dict(anchor_generator=dict(type='MlvlPointGenerator',
                                          offset=0, strides=[8, 16, 32, 64])),
     r'same point layout.*\(32, 32\), \(64, 64\)\]'),
])
def test_other_prior_layouts_are_refused(kind, change, match, tmp_path):
    student = dense_model(kind)
    teacher = copy.deepcopy(student)
    teacher.bbox_head.update(change)
    if kind in ('gfl', 'rtmdet'):
        teacher.neck.num_outs = 4
    with pytest.raises(ValueError, match=match):
        distiller_of(student, teacher, tmp_path)


def test_teacher_scores_at_other_positions_are_refused(tmp_path):
    """A teacher whose neck does not match its head's strides (FPN from P2)
    scores other positions: refused on the first step, not misaligned."""
    student = dense_model('fcos')
    teacher = copy.deepcopy(student)
    teacher.neck.start_level = 0
    distiller = distiller_of(student, teacher, tmp_path).train()
    with pytest.raises(ValueError, match='the teacher head scores other '
                       r'priors .* teacher \[\(2, 10, 32, 32\)'):
        distiller.loss(*batch())
