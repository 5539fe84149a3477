"""Logit sources of two-stage detectors: ``StandardRoIHead`` (Faster R-CNN,
and the bbox branch of Mask R-CNN) and ``CascadeRoIHead`` (Cascade R-CNN,
Cascade Mask R-CNN)."""
import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.models.roi_heads import CascadeRoIHead
from torch import nn

from .base import LOGIT_SOURCES, LogitBatch, LogitSource
from ..recorder import CallRecorder


def _softmax_bbox_heads(model: nn.Module) -> bool:
    """Two-stage with a bbox branch whose bbox head (every stage's, for a
    cascade) classifies with a plain softmax (no custom class channels, no
    sigmoid loss)."""
    if not (isinstance(model, TwoStageDetector) and model.roi_head.with_bbox):
        return False
    heads = model.roi_head.bbox_head
    heads = heads if isinstance(heads, nn.ModuleList) else [heads]
    return not any(head.custom_cls_channels
                   or getattr(head.loss_cls, 'use_sigmoid', False)
                   for head in heads)


def _stage_samples(recorder: CallRecorder, teacher_logits_of) -> tuple:
    """``(student logits, teacher logits, labels, images)`` of one recorded
    ``loss_and_target`` call: its RoIs of non-zero label weight, the teacher
    logits from ``teacher_logits_of(rois)`` (no grad)."""
    args, result = recorder.pop()
    labels, label_weights = result['bbox_targets'][:2]
    keep = label_weights > 0
    with torch.no_grad():
        teacher_logits = teacher_logits_of(args['rois'])
    return (args['cls_score'][keep], teacher_logits[keep], labels[keep],
            args['rois'][keep, 0].long())


@LOGIT_SOURCES.register_module('StandardRoIHead')
class RoIHeadLogits(LogitSource):
    """Softmax RoI logits at the RoIs the student samples.

    Records ``student.roi_head.bbox_head.loss_and_target``, which receives
    the sampled RoIs and the student's ``cls_score`` and returns the
    sampler's labels from ``get_targets``; the teacher's RoI head classifies
    the same boxes on the teacher's own FPN features (its RPN is not run).
    Targets are the sampler's labels; softmax logits (N, K); the terms
    average over the sampled RoIs.
    """
    head_attribute = 'roi_head'
    #: the sampler already balances background RoIs (25 % positives)
    default_neg_weight = 1.0

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        # the distiller has checked that the teacher has as many classes
        self.num_classes = student.roi_head.bbox_head.num_classes + 1
        self.recorder = CallRecorder(student.roi_head.bbox_head,
                                     'loss_and_target')

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """Two-stage, with a bbox branch whose classifier is a softmax."""
        return _softmax_bbox_heads(model)

    @property
    def recorders(self):
        return (self.recorder, )

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """This step's sampled RoIs (those with non-zero label weight)."""
        samples = _stage_samples(
            self.recorder, lambda rois: teacher.roi_head._bbox_forward(
                teacher_feats, rois)['cls_score'])
        return LogitBatch(*samples[:3], 'softmax', None, samples[3])


@LOGIT_SOURCES.register_module('CascadeRoIHead')
class CascadeRoIHeadLogits(LogitSource):
    """Softmax RoI logits of every cascade stage, at the RoIs the student
    samples in that stage.

    Records each stage's ``bbox_head[s].loss_and_target``: stage s's RoIs
    are the boxes the student's stage s-1 refined, sampled with stage s's
    own IoU threshold, and its labels are stage s's targets. The teacher's
    stage-s RoI head (``_bbox_forward(s, ...)``) classifies those boxes on
    the teacher's features; teacher and student need as many stages. The
    stages are summed into one term with the cascade's own
    ``stage_loss_weights`` w_s, as the cascade sums its task losses:
    ``sum_s w_s * mean over stage-s RoIs`` (per-sample weight w_s / N_s).
    A stage the student's cascade skipped (no proposals left) adds nothing;
    ``neg_topk`` ranks an image's background RoIs of all stages together.
    """
    head_attribute = 'roi_head'
    default_neg_weight = 1.0

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        roi_head = student.roi_head
        if teacher.roi_head.num_stages != roi_head.num_stages:
            raise ValueError(
                f'logit terms: the student cascade has {roi_head.num_stages} '
                f'stages, the teacher {teacher.roi_head.num_stages}; stage s '
                'of the teacher classifies the RoIs of stage s of the '
                'student, so they need as many stages')
        self.num_classes = roi_head.bbox_head[-1].num_classes + 1
        self.stage_weights = [float(w) for w in roi_head.stage_loss_weights]
        self.stage_recorders = [CallRecorder(head, 'loss_and_target')
                                for head in roi_head.bbox_head]

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """A cascade whose stage loop and stage forward are
        ``CascadeRoIHead``'s own (HTC, SCNet, ... change them), every stage
        a softmax classifier."""
        own = all(getattr(type(model.roi_head), name) is
                  getattr(CascadeRoIHead, name)
                  for name in ('loss', 'bbox_loss', '_bbox_forward'))
        return own and _softmax_bbox_heads(model)

    @property
    def recorders(self):
        return tuple(self.stage_recorders)

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """Every stage's sampled RoIs (non-zero label weight), weighted."""
        stages, weights = [], []
        for stage, recorder in enumerate(self.stage_recorders):
            if stage > 0 and recorder.record is None:
                break  # the student's cascade stopped: no proposals left
            samples = _stage_samples(
                recorder, lambda rois, s=stage: teacher.roi_head._bbox_forward(
                    s, teacher_feats, rois)['cls_score'])
            count = max(len(samples[2]), 1)
            stages.append(samples)
            weights.append(samples[1].new_full(
                (len(samples[2]), ), self.stage_weights[stage] / count))
        student, teacher_logits, labels, images = (
            torch.cat(parts) for parts in zip(*stages))
        return LogitBatch(student, teacher_logits, labels, 'softmax', 1.0,
                          images, torch.cat(weights))
