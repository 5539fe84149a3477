"""The LOGIT_SOURCES registry (lookup by head class, most specific wins)
and the RoI sources on Mask R-CNN and Cascade R-CNN."""
import copy
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData
from test_dense_sources import record_calls
from test_distiller import batch, random_checkpoint
from utils import CONFIG_DIR

from wkd_det.cost_matrix import classifier_weights
from wkd_det.models.logit_sources import (LOGIT_SOURCES, AnchorHeadLogits,
                                          CascadeRoIHeadLogits, LogitSource,
                                          RoIHeadLogits, build_logit_source,
                                          find_logit_source)
from wkd_det.models.recorder import CallRecorder

register_all_modules()


def digits_detector(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'digits', f'{name}.py')).model
    cfg.backbone.init_cfg = None
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def detectors():
    return {name: digits_detector(f'{name}_r18_fpn_digits')
            for name in ('faster-rcnn', 'retinanet')}


def test_builtin_sources_are_found_by_head_class(detectors):
    assert find_logit_source(detectors['faster-rcnn']) is RoIHeadLogits
    assert find_logit_source(detectors['retinanet']) is AnchorHeadLogits


def test_a_user_source_for_a_subclass_wins_over_its_base(detectors):
    """A source registered for RetinaHead is more specific than the
    AnchorHead one, so it reads RetinaNet; removing it restores the base."""
    @LOGIT_SOURCES.register_module('RetinaHead')
    class RetinaHeadLogits(LogitSource):
        """A user's source."""

        def __init__(self, student, teacher):
            self.num_classes = student.bbox_head.num_classes + 1

    try:
        retinanet = detectors['retinanet']
        assert find_logit_source(retinanet) is RetinaHeadLogits
        source = build_logit_source(retinanet, retinanet)
        assert isinstance(source, RetinaHeadLogits)
        assert source.num_classes == 11
        # the two-stage detector is not affected
        assert find_logit_source(detectors['faster-rcnn']) is RoIHeadLogits
    finally:
        LOGIT_SOURCES.module_dict.pop('RetinaHead')
    assert find_logit_source(detectors['retinanet']) is AnchorHeadLogits


def test_a_source_that_refuses_the_head_is_not_replaced_by_a_base(detectors):
    """When the most specific source does not support the model, the lookup
    does not fall back to a more general one (it would misread the head)."""
    @LOGIT_SOURCES.register_module('RetinaHead')
    class Refusing(LogitSource):
        """Supports nothing."""

        @classmethod
        def supports(cls, model):
            return False

    try:
        assert find_logit_source(detectors['retinanet']) is None
        with pytest.raises(ValueError, match='no logit source reads the '
                           'student RetinaNet'):
            build_logit_source(detectors['retinanet'], detectors['retinanet'])
    finally:
        LOGIT_SOURCES.module_dict.pop('RetinaHead')


def mask_rcnn_model():
    """The digits R18 Faster R-CNN with MMDetection's Mask R-CNN mask
    branch added (random weights)."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'digits',
                                   'faster-rcnn_r18_fpn_digits.py')).model
    cfg.type = 'MaskRCNN'
    cfg.backbone.init_cfg = None
    cfg.data_preprocessor.pad_mask = True
    cfg.roi_head.mask_roi_extractor = dict(
        type='SingleRoIExtractor',
        roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
        out_channels=256, featmap_strides=[4, 8, 16, 32])
    cfg.roi_head.mask_head = dict(
        type='FCNMaskHead', num_convs=1, in_channels=256, conv_out_channels=64,
        num_classes=10,
        loss_mask=dict(type='CrossEntropyLoss', use_mask=True,
                       loss_weight=1.0))
    cfg.train_cfg.rcnn.mask_size = 28
    return cfg


def test_mask_rcnn_bbox_branch_is_read_by_the_roi_source(tmp_path):
    """Mask R-CNN: the RoI source reads its bbox branch (the teacher
    classifies the student's sampled RoIs); the mask loss is the student's
    own, and a loss step with WKD-L, KD and WKD-F reaches the student."""
    model_cfg = mask_rcnn_model()
    ckpt = str(tmp_path / 'mask_rcnn.pth')
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(model_cfg).state_dict()}, ckpt)
    teacher_cfg = Config(dict(model=model_cfg))
    distiller = MODELS.build(dict(
        type='DetectionDistiller', student=model_cfg,
        teacher_config=teacher_cfg, teacher_ckpt=ckpt,
        distill_losses=dict(
            loss_wkd_l=dict(type='WKDLLoss', wd_weight=10.0, cost='uniform'),
            loss_kd=dict(type='KDLoss'),
            loss_wkd_f=dict(type='WKDFLoss', normalize=True, cell_size=4,
                            projector='identity')))).train()
    assert isinstance(distiller.logit_source, RoIHeadLogits)
    size = 128
    boxes = torch.tensor([[8., 8., 48., 60.], [60., 50., 120., 120.]])
    masks = torch.zeros(2, size, size, dtype=torch.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes.int().tolist()):
        mask[y1:y2, x1:x2] = 1
    samples = []
    for _ in range(2):
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), pad_shape=(size, size),
            ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=boxes, labels=torch.tensor([3, 7]),
            masks=BitmapMasks(masks.numpy(), size, size))
        samples.append(sample)
    student_rois = CallRecorder(distiller.student.roi_head, '_bbox_forward')
    teacher_rois = CallRecorder(distiller.teacher.roi_head, '_bbox_forward')
    student_rois.active = teacher_rois.active = True
    losses = distiller.loss(torch.randn(2, 3, size, size), samples)
    assert torch.equal(student_rois.pop()[0]['rois'],
                       teacher_rois.pop()[0]['rois'])
    assert {'loss_mask', 'loss_cls', 'loss_wkd_l', 'loss_kd',
            'loss_wkd_f'} <= set(losses)
    total = sum(value for name, value in losses.items() if 'loss' in name
                and isinstance(value, torch.Tensor))
    total.backward()
    grads = [p.grad for p in distiller.student.backbone.parameters()
             if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def cascade_distiller(tmp_path, student=None, teacher=None):
    """A distiller of random digits R18 Cascade R-CNNs with KD and WKD-L."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'digits',
                                   'cascade-rcnn_r18_fpn_digits.py')).model
    cfg.backbone.init_cfg = None
    teacher = teacher or cfg
    ckpt = random_checkpoint(teacher, str(tmp_path / 'cascade.pth'))
    return MODELS.build(dict(
        type='DetectionDistiller', student=student or cfg,
        teacher_config=Config(dict(model=teacher)), teacher_ckpt=ckpt,
        distill_losses=dict(
            loss_kd=dict(type='KDLoss'),
            loss_wkd_l=dict(type='WKDLLoss', wd_weight=10.0,
                            cost='fc')))).train()


def test_cascade_teacher_classifies_each_stages_rois(tmp_path):
    """Cascade R-CNN: the teacher's stage s classifies the RoIs of the
    student's stage s (boxes refined by its stage s-1), the targets are
    stage s's labels, and a term is the stages' sum weighted by the
    cascade's stage_loss_weights, each stage a mean over its RoIs."""
    distiller = cascade_distiller(tmp_path)
    source = distiller.logit_source
    assert isinstance(source, CascadeRoIHeadLogits)
    assert source.stage_weights == [1.0, 0.5, 0.25]
    stages = distiller.student.roi_head.bbox_head
    patches, student_calls = zip(*[record_calls(head, 'loss_and_target')
                                   for head in stages])
    teacher_patch, teacher_calls = record_calls(distiller.teacher.roi_head,
                                                '_bbox_forward')
    collect = CallRecorder(source, 'collect')
    collect.active = True
    inputs, samples = batch()
    with patches[0], patches[1], patches[2], teacher_patch:
        losses = distiller.loss(inputs, samples)
    logits = collect.pop()[1]
    assert [args['stage'] for args, _ in teacher_calls] == [0, 1, 2]
    expected = dict.fromkeys(('loss_kd', 'loss_wkd_l'), 0.0)
    offset = 0
    for stage, ((args, result), ), (teacher_args, teacher_out) in zip(
            range(3), student_calls, teacher_calls):
        # the stages' RoIs differ (refined), the teacher sees the student's
        assert torch.equal(teacher_args['rois'], args['rois'])
        labels, label_weights = result['bbox_targets'][:2]
        keep = label_weights > 0
        count = int(keep.sum())
        rows = slice(offset, offset + count)
        offset += count
        assert torch.equal(logits.labels[rows], labels[keep])
        assert torch.equal(logits.student_logits[rows],
                           args['cls_score'][keep])
        assert torch.equal(logits.teacher_logits[rows],
                           teacher_out['cls_score'][keep])
        assert torch.allclose(logits.weight[rows],
                              torch.full((count, ), [1, .5, .25][stage] / count))
        for name in expected:
            expected[name] += [1, .5, .25][stage] * distiller.distill_losses[
                name](student_logits=args['cls_score'][keep],
                      teacher_logits=teacher_out['cls_score'][keep],
                      labels=labels[keep], head='softmax')
    assert offset == len(logits.labels)
    assert not torch.equal(student_calls[0][0][0]['rois'],
                           student_calls[1][0][0]['rois'])
    for name, value in expected.items():
        assert torch.allclose(losses[name], value, rtol=1e-4), name
    assert {'s0.loss_cls', 's2.loss_cls'} <= set(losses)
    grad = torch.autograd.grad(losses['loss_wkd_l'],
                               stages[2].fc_cls.weight)[0]
    assert grad.abs().sum() > 0
    # cost='fc' reads the final stage's classifier
    assert torch.equal(classifier_weights(distiller.teacher),
                       distiller.teacher.roi_head.bbox_head[2].fc_cls.weight)


def test_cascades_of_other_stage_counts_and_mixed_roi_heads_are_refused(
        tmp_path):
    """Stage s pairs with stage s: a 2-stage teacher is refused for a
    3-stage student, and a cascade teacher for a Faster R-CNN student (the
    feature terms still pair them)."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'digits',
                                   'cascade-rcnn_r18_fpn_digits.py')).model
    cfg.backbone.init_cfg = None
    two_stage = copy.deepcopy(cfg)
    two_stage.roi_head.num_stages = 2
    two_stage.roi_head.stage_loss_weights = [1, 0.5]
    two_stage.roi_head.bbox_head = two_stage.roi_head.bbox_head[:2]
    two_stage.train_cfg.rcnn = two_stage.train_cfg.rcnn[:2]
    with pytest.raises(ValueError, match='student cascade has 3 stages, the '
                       'teacher 2'):
        cascade_distiller(tmp_path, teacher=two_stage)
    faster = Config.fromfile(osp.join(CONFIG_DIR, 'digits',
                                      'faster-rcnn_r18_fpn_digits.py')).model
    faster.backbone.init_cfg = None
    with pytest.raises(ValueError, match='CascadeRoIHeadLogits.*the student '
                       'FasterRCNN.*RoIHeadLogits'):
        cascade_distiller(tmp_path, student=faster)
