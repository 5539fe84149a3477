"""Logit source of two-stage detectors with a ``StandardRoIHead`` (Faster
R-CNN, and the bbox branch of Mask R-CNN)."""
import torch
from mmdet.models.detectors import TwoStageDetector
from torch import nn

from .base import LOGIT_SOURCES, LogitBatch, LogitSource
from ..recorder import CallRecorder


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
        if not (isinstance(model, TwoStageDetector) and model.roi_head.with_bbox):
            return False
        bbox_head = model.roi_head.bbox_head
        return not (bbox_head.custom_cls_channels
                    or getattr(bbox_head.loss_cls, 'use_sigmoid', False))

    @property
    def recorders(self):
        return (self.recorder, )

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """This step's sampled RoIs (those with non-zero label weight)."""
        args, result = self.recorder.pop()
        labels, label_weights = result['bbox_targets'][:2]
        keep = label_weights > 0
        with torch.no_grad():
            teacher_logits = teacher.roi_head._bbox_forward(
                teacher_feats, args['rois'])['cls_score']
        return LogitBatch(args['cls_score'][keep], teacher_logits[keep],
                          labels[keep], 'softmax', None,
                          args['rois'][keep, 0].long())
