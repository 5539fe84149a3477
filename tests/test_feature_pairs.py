"""Feature terms on any neck that returns a tuple of maps, and on teacher /
student pairs of different families: levels are paired by stride, read
from the maps of one probe at build."""
import copy
import os.path as osp
from unittest import mock

import pytest
import torch
from mmcv.ops import roi_align
from test_distiller import (DIGITS, batch, build_distiller,
                            digits_checkpoints, digits_model,
                            random_checkpoint)
from torch import nn
from utils import scratch_dir

from wkd_det.models.box_regions import gt_rois
from wkd_det.models.distiller import _neck_levels

FEATURE_TERMS = {
    'loss_wkd_f': dict(type='WKDFLoss', loss_weight=1e-3),
    'loss_fitnet': dict(type='FitNetLoss'),
    'loss_pkd': dict(type='PKDLoss'),
    'loss_cwd': dict(type='CWDLoss'),
    'loss_box': dict(type='WKDFLoss', grid=1, regions='boxes', box_size=5),
}
FPN_STRIDES = {'faster-rcnn': [4, 8, 16, 32, 64],
               'retinanet': [8, 16, 32, 64, 128]}
BN = dict(type='BN')
SILU = dict(type='SiLU', inplace=True)


def digits_config(kind: str) -> str:
    return osp.join(DIGITS, f'{kind}_r18_fpn_digits.py')


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Random R18 digits detectors of both families."""
    with scratch_dir(tmp_path_factory, 'pairs') as root:
        yield digits_checkpoints(root, FPN_STRIDES)


def rtmdet_tiny(widen_factor: float) -> dict:
    """An RTMDet-tiny-style detector (CSPNeXt + CSPNeXtPAFPN, strides
    8..32) for the 10 digit classes, narrowed by ``widen_factor``."""
    channels = [int(c * widen_factor) for c in (256, 512, 1024)]
    return dict(
        type='RTMDet',
        data_preprocessor=digits_model(
            'retinanet_r18_fpn_digits').data_preprocessor,
        backbone=dict(type='CSPNeXt', arch='P5', deepen_factor=0.167,
                      widen_factor=widen_factor, expand_ratio=0.5,
                      channel_attention=True, norm_cfg=BN, act_cfg=SILU),
        neck=dict(type='CSPNeXtPAFPN', in_channels=channels,
                  out_channels=channels[0], num_csp_blocks=1,
                  expand_ratio=0.5, norm_cfg=BN, act_cfg=SILU),
        bbox_head=dict(
            type='RTMDetSepBNHead', num_classes=10, in_channels=channels[0],
            stacked_convs=2, feat_channels=channels[0],
            anchor_generator=dict(type='MlvlPointGenerator', offset=0,
                                  strides=[8, 16, 32]),
            bbox_coder=dict(type='DistancePointBBoxCoder'),
            loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True,
                          beta=2.0, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
            with_objectness=False, exp_on_reg=False, share_conv=True,
            pred_kernel_size=1, norm_cfg=BN, act_cfg=SILU),
        train_cfg=dict(assigner=dict(type='DynamicSoftLabelAssigner',
                                     topk=13),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.65),
                      max_per_img=100))


def yolov3_mv2() -> dict:
    """YOLOv3 on MobileNetV2 for the 10 digit classes: maps coarsest first
    (strides 32, 16, 8) with 96, 64 and 32 channels."""
    return dict(
        type='YOLOV3',
        data_preprocessor=digits_model(
            'retinanet_r18_fpn_digits').data_preprocessor,
        backbone=dict(type='MobileNetV2', out_indices=(2, 4, 6),
                      act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
        neck=dict(type='YOLOV3Neck', num_scales=3, in_channels=[320, 96, 32],
                  out_channels=[96, 64, 32]),
        bbox_head=dict(
            type='YOLOV3Head', num_classes=10, in_channels=[96, 64, 32],
            out_channels=[96, 64, 32],
            anchor_generator=dict(
                type='YOLOAnchorGenerator',
                base_sizes=[[(116, 90), (156, 198), (373, 326)],
                            [(30, 61), (62, 45), (59, 119)],
                            [(10, 13), (16, 30), (33, 23)]],
                strides=[32, 16, 8]),
            bbox_coder=dict(type='YOLOBBoxCoder'),
            featmap_strides=[32, 16, 8]),
        train_cfg=dict(assigner=dict(type='GridAssigner', pos_iou_thr=0.5,
                                     neg_iou_thr=0.5, min_pos_iou=0)),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      conf_thr=0.005, nms=dict(type='nms', iou_threshold=0.45),
                      max_per_img=100))


@pytest.mark.parametrize('student, teacher, pairs', [
    ('retinanet', 'faster-rcnn', [(0, 1, 8), (1, 2, 16), (2, 3, 32),
                                  (3, 4, 64)]),
    ('faster-rcnn', 'retinanet', [(1, 0, 8), (2, 1, 16), (3, 2, 32),
                                  (4, 3, 64)]),
])
def test_mixed_families_pair_levels_by_stride(ckpts, student, teacher, pairs):
    """Faster R-CNN (P2-P6) <-> RetinaNet (P3-P7): every shared stride, 8 to
    64, is distilled by every feature term; the teacher map a student level
    meets is the teacher's level of the same stride, for whole maps and box
    crops alike; gradients reach the student and the projectors."""
    distiller = build_distiller(student, ckpts[teacher], FEATURE_TERMS,
                                teacher=digits_config(teacher)).train()
    assert distiller.neck_levels == {
        role: [(stride, 256) for stride in FPN_STRIDES[kind]]
        for role, kind in (('student', student), ('teacher', teacher))}
    assert all(distiller.level_pairs[name] == pairs for name in FEATURE_TERMS)
    inputs, samples = batch()
    fitnet = distiller.distill_losses['loss_fitnet']
    box = distiller.distill_losses['loss_box']
    with mock.patch.object(fitnet, 'forward', wraps=fitnet.forward) as maps, \
            mock.patch.object(box, 'forward', wraps=box.forward) as crops:
        losses = distiller.loss(inputs, samples)
    with torch.no_grad():
        teacher_feats = distiller.teacher.extract_feat(inputs)
    assert len(maps.call_args_list) == len(pairs)
    for call, (_, j, _) in zip(maps.call_args_list, pairs):
        torch.testing.assert_close(call.args[1], teacher_feats[j])
    # the boxes (sides 40..70 px) map to the finest shared level, stride 8
    torch.testing.assert_close(crops.call_args.args[1], roi_align(
        teacher_feats[pairs[0][1]], gt_rois(samples), (5, 5), 1 / 8, 0, 'avg',
        True))
    total = sum(losses[name] for name in FEATURE_TERMS)
    total.backward()
    assert all(torch.isfinite(losses[name]) and losses[name] > 0
               for name in FEATURE_TERMS)
    for name in FEATURE_TERMS:
        assert distiller.projectors[name][0].weight.grad.abs().sum() > 0
    assert distiller.student.neck.fpn_convs[1].conv.weight.grad is not None


@pytest.mark.parametrize('student, teacher, heads', [
    ('retinanet', 'faster-rcnn', 'teacher FasterRCNN .* is read by '
     'RoIHeadLogits, the student RetinaNet by AnchorHeadLogits'),
    ('faster-rcnn', 'retinanet', 'teacher RetinaNet .* is read by '
     'AnchorHeadLogits, the student FasterRCNN by RoIHeadLogits'),
])
def test_logit_terms_across_families_are_refused(ckpts, student, teacher,
                                                 heads):
    with pytest.raises(ValueError, match=f'logit terms: the {heads}'):
        build_distiller(student, ckpts[teacher],
                        {'loss_kd': dict(type='KDLoss')},
                        teacher=digits_config(teacher))


def test_levels_of_a_stride_the_teacher_lacks_are_refused(ckpts, tmp_path):
    with pytest.raises(ValueError, match=r'loss_f: levels \[0\] have strides '
                       r'the teacher neck lacks \(student strides \[4, 8, 16, '
                       r'32, 64\], teacher \[8, 16, 32, 64, 128\]\)'):
        build_distiller('faster-rcnn', ckpts['retinanet'], {
            'loss_f': dict(type='FitNetLoss', levels=[0, 1])},
            teacher=digits_config('retinanet'))
    p2_only = digits_model('faster-rcnn_r18_fpn_digits')
    p2_only.neck.update(start_level=0, end_level=0, num_outs=1)
    ckpt = random_checkpoint(p2_only, str(tmp_path / 'p2.pth'))
    with pytest.raises(ValueError, match=r'loss_f: the student and teacher '
                       r'necks share no stride \(student strides \[8, 16, '
                       r'32, 64, 128\], teacher \[4\]\)'):
        build_distiller('retinanet', ckpt, {'loss_f': dict(
            type='FitNetLoss')}, teacher=dict(model=p2_only))


def test_maps_of_one_stride_but_other_sizes_are_refused(ckpts):
    distiller = build_distiller('retinanet', ckpts['faster-rcnn'], {
        'loss_f': dict(type='FitNetLoss')},
        teacher=digits_config('faster-rcnn')).train()
    extract_feat = distiller.teacher.extract_feat

    def cropped(inputs):
        feats = list(extract_feat(inputs))
        feats[1] = feats[1][..., :-1, :]
        return tuple(feats)

    with mock.patch.object(distiller.teacher, 'extract_feat', cropped), \
            pytest.raises(ValueError, match=r'loss_f: the stride-8 maps are '
                          r'\(16, 16\) in the student \(level 0\), \(15, 16\) '
                          r'in the teacher \(level 1\)'):
        distiller.loss(*batch())


def test_rtmdet_tiny_pair_on_cspnext_pafpn(tmp_path):
    """CSPNeXtPAFPN has no ``num_outs``: its strides and channels come from
    the probe; a WKD-F + FitNet step trains a 32-channel student neck
    towards a 64-channel teacher."""
    teacher = rtmdet_tiny(0.25)
    ckpt = random_checkpoint(teacher, str(tmp_path / 'rtmdet.pth'))
    distiller = build_distiller('retinanet', ckpt, {
        'loss_wkd_f': dict(type='WKDFLoss', loss_weight=1e-3),
        'loss_fitnet': dict(type='FitNetLoss')},
        student=rtmdet_tiny(0.125), teacher=dict(model=teacher)).train()
    assert distiller.neck_levels == {
        'student': [(8, 32), (16, 32), (32, 32)],
        'teacher': [(8, 64), (16, 64), (32, 64)]}
    assert distiller.level_pairs['loss_fitnet'] == [(0, 0, 8), (1, 1, 16),
                                                    (2, 2, 32)]
    losses = distiller.loss(*batch())
    assert {'loss_cls', 'loss_bbox', 'loss_wkd_f', 'loss_fitnet'} <= set(
        losses)
    (losses['loss_wkd_f'] + losses['loss_fitnet']).backward()
    assert all(torch.isfinite(losses[name]) and losses[name] > 0
               for name in ('loss_wkd_f', 'loss_fitnet'))
    projector = distiller.projectors['loss_wkd_f'][2]
    assert (projector.in_channels, projector.out_channels) == (32, 64)
    assert projector.weight.grad.abs().sum() > 0


def test_per_level_channels_and_coarsest_first_teacher(ckpts, tmp_path):
    """A YOLOv3 teacher (maps of strides 32, 16, 8 with 96, 64, 32
    channels): each pair gets its own projector, pairs run finest first,
    and box crops, stacked across levels, are refused."""
    teacher = yolov3_mv2()
    ckpt = random_checkpoint(teacher, str(tmp_path / 'yolo.pth'))
    distiller = build_distiller('retinanet', ckpt, {'loss_f': dict(
        type='FitNetLoss')}, teacher=dict(model=teacher)).train()
    assert distiller.level_pairs['loss_f'] == [(0, 2, 8), (1, 1, 16),
                                               (2, 0, 32)]
    assert [p.out_channels for p in distiller.projectors['loss_f']] == [
        32, 64, 96]
    loss = distiller.loss(*batch())['loss_f']
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    with pytest.raises(ValueError, match=r"loss_box: regions='boxes' stacks "
                       r'.* one channel count, got \[32, 64, 96\]'):
        build_distiller('retinanet', ckpt, {'loss_box': dict(
            type='FitNetLoss', regions='boxes')}, teacher=dict(model=teacher))


def test_probe_leaves_the_detector_as_it_was():
    """The probe runs in eval mode without gradients: each module's
    training flag and every buffer (BN statistics) are unchanged."""
    from mmdet.registry import MODELS
    detector = MODELS.build(digits_model('retinanet_r18_fpn_digits')).train()
    detector.backbone.layer1.eval()
    modes = [m.training for m in detector.modules()]
    state = copy.deepcopy(detector.state_dict())
    assert _neck_levels(detector, 'student', 'loss_f') == [
        (stride, 256) for stride in FPN_STRIDES['retinanet']]
    assert [m.training for m in detector.modules()] == modes
    assert all(torch.equal(state[k], v)
               for k, v in detector.state_dict().items())
    no_tuple = nn.Conv2d(3, 8, 3)
    no_tuple.extract_feat = no_tuple.forward
    with pytest.raises(ValueError, match='loss_f: feature terms need '
                       'extract_feat to return a tuple of .* the teacher '
                       'Conv2d returns Tensor'):
        _neck_levels(no_tuple, 'teacher', 'loss_f')
