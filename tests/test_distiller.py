"""DetectionDistiller in-process: what each term receives, the teacher's
isolation, state dicts, input conversion and the refusals."""
import copy
import inspect
import os.path as osp
from unittest import mock

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData
from utils import CONFIG_DIR, scratch_dir

from wkd_det.engine import DistillLossWeightHook
from wkd_det.functional import wkd_logit_loss
from wkd_det.models.logit_sources import LogitBatch, sample_weights
from wkd_det.models.recorder import CallRecorder

register_all_modules()

DIGITS = osp.join(CONFIG_DIR, 'digits')


def digits_model(name: str) -> dict:
    """The ``model`` dict of ``configs/digits/<name>.py``."""
    return Config.fromfile(osp.join(DIGITS, f'{name}.py')).model


def random_checkpoint(model_cfg: dict, path: str) -> str:
    """Save a randomly initialised detector as a checkpoint at ``path``."""
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(model_cfg).state_dict()}, path)
    return path


def digits_checkpoints(root, kinds, arch: str = 'r18') -> dict:
    """Random ``<kind>_<arch>_fpn_digits`` detectors saved under ``root``:
    {kind: checkpoint path}."""
    return {kind: random_checkpoint(digits_model(f'{kind}_{arch}_fpn_digits'),
                                    str(root / f'{kind}.pth'))
            for kind in kinds}


@pytest.fixture(scope='module')
def teacher_ckpts(tmp_path_factory):
    """Random R18 digits teachers (the teacher architecture does not matter
    for these tests; R18 keeps them fast)."""
    with scratch_dir(tmp_path_factory, 'teachers') as root:
        yield digits_checkpoints(root, ('faster-rcnn', 'retinanet'))


def build_distiller(kind, ckpt, distill_losses, student=None, teacher=None):
    """A distiller of the digits ``kind`` ('faster-rcnn' | 'retinanet')."""
    config = f'{kind}_r18_fpn_digits'
    return MODELS.build(dict(
        type='DetectionDistiller',
        student=student or digits_model(config),
        teacher_config=teacher or osp.join(DIGITS, f'{config}.py'),
        teacher_ckpt=ckpt,
        distill_losses=distill_losses))


def batch(num_images=2, size=128):
    """Random normalised inputs and data samples with two boxes each."""
    torch.manual_seed(1)
    samples = []
    for _ in range(num_images):
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), pad_shape=(size, size),
            ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[8., 8., 48., 60.], [60., 50., 120., 120.]]),
            labels=torch.tensor([3, 7]))
        samples.append(sample)
    return torch.randn(num_images, 3, size, size), samples


LOGIT_AND_FEATURE = dict(
    loss_wkd_l=dict(type='WKDLLoss', wd_weight=10.0, cost='uniform'),
    loss_wkd_f=dict(type='WKDFLoss', loss_weight=1e-3, levels=[0, 2]),
    loss_bdd=dict(type='BDDLoss'))


def record_terms(distiller):
    """Record every term's call (its inputs) on ``distiller``."""
    return {name: CallRecorder(term, 'forward')
            for name, term in distiller.distill_losses.items()}


def test_two_stage_teacher_classifies_the_students_rois(teacher_ckpts):
    distiller = build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'],
                                LOGIT_AND_FEATURE).train()
    student_rois = CallRecorder(distiller.student.roi_head, '_bbox_forward')
    teacher_rois = CallRecorder(distiller.teacher.roi_head, '_bbox_forward')
    terms = record_terms(distiller)
    for recorder in (student_rois, teacher_rois, *terms.values()):
        recorder.active = True
    with mock.patch.object(distiller.teacher, 'extract_feat',
                           wraps=distiller.teacher.extract_feat) as teacher, \
            mock.patch.object(distiller.student, 'extract_feat',
                              wraps=distiller.student.extract_feat) as student:
        losses = distiller.loss(*batch())
    assert student.call_count == 1 and teacher.call_count == 1
    rois = student_rois.pop()[0]['rois']
    assert rois.size(0) > 0
    assert torch.equal(rois, teacher_rois.pop()[0]['rois'])
    inputs = terms['loss_wkd_l'].pop()[0]
    student_logits, teacher_logits, labels = (
        inputs['student_logits'], inputs['teacher_logits'], inputs['labels'])
    assert student_logits.shape == teacher_logits.shape == (rois.size(0), 11)
    assert student_logits.requires_grad and not teacher_logits.requires_grad
    assert labels.max() == 10  # background last, sampled negatives present
    # softmax RoI logits, every sampled RoI weighted 1, the plain mean
    assert inputs['head'] == 'softmax'
    assert inputs['weight'] is None and inputs['avg_factor'] is None
    for name in LOGIT_AND_FEATURE:
        assert torch.isfinite(losses[name]) and losses[name] > 0
    assert {'loss_cls', 'loss_bbox', 'loss_rpn_cls'} <= set(losses)


def test_anchor_head_targets_are_the_students_assignment(teacher_ckpts):
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'],
                                LOGIT_AND_FEATURE).train()
    head = distiller.student.bbox_head
    signature = inspect.signature(head.loss_by_feat_single)
    terms = record_terms(distiller)
    terms['loss_wkd_l'].active = True
    source = CallRecorder(distiller.logit_source, 'collect')
    source.active = True
    with mock.patch.object(head, 'loss_by_feat_single',
                           wraps=head.loss_by_feat_single) as per_level:
        distiller.loss(*batch())
    calls = [signature.bind(*call.args, **call.kwargs).arguments
             for call in per_level.call_args_list]
    logits = source.pop()[1]
    student_logits, teacher_logits, labels = logits[:3]
    own_labels = torch.cat([c['labels'].reshape(-1) for c in calls])
    own_weights = torch.cat([c['label_weights'].reshape(-1) for c in calls])
    assert torch.equal(labels, own_labels[own_weights > 0])
    assert (labels == 10).any() and (labels < 10).any()
    # the C sigmoid logits themselves; the loss builds the background mass
    assert logits.head == 'sigmoid'
    assert student_logits.shape == teacher_logits.shape == (labels.numel(), 10)
    own_scores = torch.cat([
        c['cls_score'].permute(0, 2, 3, 1).reshape(-1, 10) for c in calls
    ])[own_weights > 0]
    assert torch.equal(student_logits, own_scores)
    # normalised by the head's own avg_factor (its positives); at the anchor
    # heads' default neg_weight 0 the term gets the positives alone
    positive = labels < 10
    assert logits.avg_factor == calls[0]['avg_factor'] == positive.sum()
    inputs = terms['loss_wkd_l'].pop()[0]
    assert torch.equal(inputs['labels'], labels[positive])
    assert torch.equal(inputs['student_logits'], student_logits[positive])
    assert torch.equal(inputs['weight'], torch.ones(int(positive.sum())))
    assert inputs['avg_factor'] == logits.avg_factor


def test_negative_weights_and_top_k_per_image():
    teacher = torch.tensor([[-9.0, -9.0], [2.0, -9.0], [-1.0, -9.0],
                            [0.5, -9.0], [-3.0, -9.0], [1.0, 3.0]])
    labels = torch.tensor([2, 2, 2, 2, 2, 0])  # 2 = background
    images = torch.tensor([0, 0, 0, 1, 1, 1])
    batch = LogitBatch(teacher.clone(), teacher, labels, 'sigmoid', 1.0, images)
    assert sample_weights(batch, 1.0) is None
    torch.testing.assert_close(sample_weights(batch, 0.25),
                               torch.tensor([.25, .25, .25, .25, .25, 1.]))
    # top-1 negative per image by teacher score: anchor 1 and anchor 3
    torch.testing.assert_close(sample_weights(batch, 0.5, neg_topk=1),
                               torch.tensor([0., .5, 0., .5, 0., 1.]))
    # a source's own sample weights (a cascade's stages) multiply them
    staged = batch._replace(weight=torch.tensor([1., 1., 2., 2., 4., 4.]))
    assert sample_weights(staged, 1.0) is staged.weight
    torch.testing.assert_close(sample_weights(staged, 0.25),
                               torch.tensor([.25, .25, .5, .5, 1., 4.]))


def test_schedule_decays_lambda_not_the_target_term(teacher_ckpts):
    """At schedule scale 0 the WKD-L term is its target term L_t alone (the
    authors keep L_t at its weight); whole terms such as KD vanish."""
    terms = {'loss_wkd_l': dict(type='WKDLLoss', wd_weight=10.0),
             'loss_kd': dict(type='KDLoss')}
    distiller = build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'],
                                terms).train()
    recorded = record_terms(distiller)
    recorded['loss_wkd_l'].active = True
    distiller.loss_weight_scale = 0.0
    torch.manual_seed(0)
    losses = distiller.loss(*batch())
    inputs = recorded['loss_wkd_l'].pop()[0]
    assert inputs['schedule_scale'] == 0.0
    target_only = wkd_logit_loss(
        inputs['student_logits'], inputs['teacher_logits'], inputs['labels'],
        distiller.distill_losses['loss_wkd_l'].cost, wd_weight=0.0)
    torch.testing.assert_close(losses['loss_wkd_l'], target_only)
    assert losses['loss_wkd_l'] > 0 and losses['loss_kd'] == 0


@pytest.mark.parametrize('option, message', [
    (dict(neg_weight=-1.0), 'neg_weight must be >= 0'),
    (dict(neg_topk=0), 'neg_topk must be a positive int'),
])
def test_bad_negative_options_are_refused(teacher_ckpts, option, message):
    with pytest.raises(ValueError, match=f'distill_losses.loss_kd: {message}'):
        build_distiller('retinanet', teacher_ckpts['retinanet'],
                        {'loss_kd': dict(type='KDLoss', **option)})


def test_full_covariance_wkd_f_trains_projector_and_student(teacher_ckpts):
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'], {
        'loss_wkd_f': dict(type='WKDFLoss', covariance='full', levels=[0],
                           loss_weight=1e-3)}).train()
    loss = distiller.loss(*batch())['loss_wkd_f']
    loss.backward()
    projector = distiller.projectors['loss_wkd_f'][0].weight
    student = distiller.student.neck.fpn_convs[0].conv.weight
    assert torch.isfinite(loss) and loss > 0
    for grad in (projector.grad, student.grad):
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_teacher_is_frozen_outside_and_follows_the_model(teacher_ckpts):
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'],
                                {'loss_kd': dict(type='KDLoss')})
    distiller.train()
    assert distiller.student.training and not distiller.teacher.training
    assert not any(p.requires_grad for p in distiller.teacher.parameters())
    teacher_params = {id(p) for p in distiller.teacher.parameters()}
    assert not teacher_params & {id(p) for p in distiller.parameters()}
    assert 'teacher' not in dict(distiller.named_children())
    distiller.double()
    assert next(distiller.teacher.parameters()).dtype == torch.float64


def test_state_dict_is_the_plain_students(teacher_ckpts):
    distiller = build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'],
                                LOGIT_AND_FEATURE)
    plain = MODELS.build(digits_model('faster-rcnn_r18_fpn_digits'))
    state = distiller.state_dict()
    assert list(state) == list(plain.state_dict())
    assert set(state._metadata) == set(plain.state_dict()._metadata)
    assert plain.load_state_dict(state, strict=True)
    projectors = copy.deepcopy(distiller.distiller_state_dict())
    assert set(projectors) == {'loss_wkd_f.0.weight', 'loss_wkd_f.0.bias',
                               'loss_wkd_f.1.weight', 'loss_wkd_f.1.bias'}
    with torch.no_grad():
        for param in plain.parameters():
            param.add_(1.0)
    assert distiller.load_state_dict(plain.state_dict(), strict=True)
    distiller.load_distiller_state_dict({})  # another config's: not loaded
    for key, value in plain.state_dict().items():
        assert torch.equal(distiller.student.state_dict()[key], value)
    for key, value in distiller.distiller_state_dict().items():
        assert torch.equal(value, projectors[key])


def test_teacher_input_follows_the_teachers_normalisation(teacher_ckpts):
    student = digits_model('faster-rcnn_r18_fpn_digits')
    student.data_preprocessor.update(
        mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=False)
    distiller = build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'],
                                {'loss_kd': dict(type='KDLoss')},
                                student=student)
    assert not distiller.same_normalization
    raw = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    data = {'inputs': [raw], 'data_samples': [DetDataSample()]}
    student_in = distiller.data_preprocessor(copy.deepcopy(data))['inputs']
    teacher_in = distiller.teacher.data_preprocessor(data)['inputs']
    torch.testing.assert_close(distiller.teacher_inputs(student_in),
                               teacher_in)


@pytest.mark.parametrize('losses, match', [
    ({'loss_x': dict(type='NoSuchLoss')}, 'distill_losses.loss_x: unknown'),
    ({'loss_x': dict(type='FocalLoss')}, 'not a distillation loss'),
    ({'kd': dict(type='KDLoss')}, "must contain 'loss'"),
    ({'loss_kd': dict(type='KDLoss', cost='uniform')}, "option 'cost'"),
    ({'loss_f': dict(type='WKDFLoss', levels=[5])}, r'levels \[5\]'),
    ({'loss_f': dict(type='WKDFLoss', projector='mlp')}, 'projector'),
    ({'loss_f': dict(type='WKDFLoss', covariance='diag')}, 'covariance'),
    ({}, 'distill_losses is empty'),
])
def test_refuses_bad_terms(teacher_ckpts, losses, match):
    with pytest.raises(ValueError, match=match):
        build_distiller('retinanet', teacher_ckpts['retinanet'], losses)


def test_refuses_mismatched_models(teacher_ckpts, tmp_path):
    ckpt = teacher_ckpts['retinanet']
    teacher = Config.fromfile(osp.join(DIGITS, 'retinanet_r18_fpn_digits.py'))
    narrow = copy.deepcopy(teacher)
    narrow.model.neck.out_channels = 128
    narrow.model.bbox_head.update(in_channels=128, feat_channels=128)
    narrow_ckpt = random_checkpoint(narrow.model, str(tmp_path / 'n.pth'))
    with pytest.raises(ValueError, match="projector='identity' needs equal"):
        build_distiller('retinanet', narrow_ckpt, {'loss_f': dict(
            type='FitNetLoss', projector='identity')}, teacher=narrow)
    other_anchors = copy.deepcopy(teacher)
    other_anchors.model.bbox_head.anchor_generator.octave_base_scale = 4
    with pytest.raises(ValueError, match='same anchor layout'):
        build_distiller('retinanet', ckpt, {'loss_kd': dict(type='KDLoss')},
                        teacher=other_anchors)
    softmax = digits_model('retinanet_r18_fpn_digits')
    softmax.bbox_head.loss_cls = dict(type='CrossEntropyLoss',
                                      use_sigmoid=False)
    with pytest.raises(ValueError, match='no logit source reads the student '
                       r'RetinaNet \(bbox_head RetinaHead\); registered: '
                       '.*AnchorHead .*StandardRoIHead'):
        build_distiller('retinanet', ckpt, {'loss_kd': dict(type='KDLoss')},
                        student=softmax)
    with pytest.raises(ValueError, match='teacher RetinaNet .* is read by '
                       'AnchorHeadLogits, the student FasterRCNN by '
                       'RoIHeadLogits'):
        build_distiller('faster-rcnn', ckpt, {'loss_kd': dict(type='KDLoss')},
                        teacher=teacher)


def test_cosine_loss_weight_schedule():
    hook = DistillLossWeightHook(schedule='cosine', start=2, by_epoch=True,
                                 min_ratio=0.1)
    # 4 epochs of 10 iterations: 1 until iteration 20, then cosine to 0.1
    assert hook.scale(0, 40, 10) == hook.scale(19, 40, 10) == 1.0
    assert hook.scale(20, 40, 10) == pytest.approx(1.0)
    assert hook.scale(30, 40, 10) == pytest.approx(0.55)
    assert hook.scale(40, 40, 10) == pytest.approx(0.1)
    constant = DistillLossWeightHook(schedule='constant')
    assert constant.scale(30, 40, 10) == 1.0
    with pytest.raises(ValueError, match='schedule'):
        DistillLossWeightHook(schedule='linear')


def test_feature_terms_skip_the_batch_padding(teacher_ckpts):
    """An image smaller than the padded batch is distilled on its own valid
    region of each map; unpadded batches take one call."""
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'], {
        'loss_fitnet': dict(type='FitNetLoss', levels=[0, 1])}).train()
    inputs, samples = batch()
    samples[1].set_metainfo(dict(img_shape=(96, 64)))  # padded to 128 x 128
    term = distiller.distill_losses['loss_fitnet']
    with mock.patch.object(term, 'forward', wraps=term.forward) as forward:
        distiller.loss(inputs, samples)
    shapes = [tuple(call.args[0].shape) for call in forward.call_args_list]
    # level 0 is stride 8 (16 x 16), level 1 stride 16 (8 x 8)
    assert shapes == [(1, 256, 16, 16), (1, 256, 12, 8),
                      (1, 256, 8, 8), (1, 256, 6, 4)]
    with mock.patch.object(term, 'forward', wraps=term.forward) as forward:
        distiller.loss(*batch())
    assert [tuple(c.args[0].shape) for c in forward.call_args_list] == [
        (2, 256, 16, 16), (2, 256, 8, 8)]


def test_conv_bn_projector(teacher_ckpts):
    distiller = build_distiller('retinanet', teacher_ckpts['retinanet'], {
        'loss_wkd_f': dict(type='WKDFLoss', projector='conv_bn', levels=[0],
                           normalize=True, cell_size=4)}).train()
    assert isinstance(distiller.projectors['loss_wkd_f'][0][1],
                      torch.nn.BatchNorm2d)
    assert 'loss_wkd_f.0.1.running_mean' in distiller.distiller_state_dict()
    loss = distiller.loss(*batch())['loss_wkd_f']
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert distiller.projectors['loss_wkd_f'][0][0].weight.grad.abs().sum() > 0


def test_box_regions_give_one_crop_per_ground_truth_box(teacher_ckpts):
    """``regions='boxes'``: the term compares RoIAligned crops of every
    ground-truth box from the level its size maps to, on the projected
    student map and the teacher map alike; gradients reach the student."""
    from mmcv.ops import roi_align
    distiller = build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'], {
        'loss_box': dict(type='WKDFLoss', grid=1, regions='boxes',
                         box_size=5, levels=[0, 1])}).train()
    inputs, samples = batch()
    samples[1].gt_instances.bboxes[1] = torch.tensor([0., 0., 127., 127.])
    term = distiller.distill_losses['loss_box']
    with mock.patch.object(term, 'forward', wraps=term.forward) as forward:
        loss = distiller.loss(inputs, samples)['loss_box']
    crops_s, crops_t = forward.call_args.args
    assert crops_s.shape == crops_t.shape == (4, 256, 5, 5)
    # boxes of side < 112 on level 0 (stride 4); the 127 px one on level 1
    rois = torch.tensor([[0., 8., 8., 48., 60.], [0., 60., 50., 120., 120.],
                         [1., 8., 8., 48., 60.], [1., 0., 0., 127., 127.]])
    with torch.no_grad():
        t = distiller.teacher.extract_feat(inputs)
    expected = torch.cat([
        roi_align(t[0], rois[:3], (5, 5), 1 / 4, 0, 'avg', True),
        roi_align(t[1], rois[3:], (5, 5), 1 / 8, 0, 'avg', True)])
    torch.testing.assert_close(crops_t, expected)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert distiller.projectors['loss_box'][0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='regions must be one of'):
        build_distiller('faster-rcnn', teacher_ckpts['faster-rcnn'], {
            'loss_box': dict(type='WKDFLoss', regions='cells')})
