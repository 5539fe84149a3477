"""Logit source of FCOS (per-point sigmoid logits, ``FCOSHead``)."""
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.detectors import SingleStageDetector
from torch import nn

from .anchor_head import (check_same_priors, dense_logit_batch,
                          mean_over_processes)
from .base import LOGIT_SOURCES, LogitBatch, LogitSource
from ..recorder import CallRecorder


@LOGIT_SOURCES.register_module('FCOSHead')
class FCOSHeadLogits(LogitSource):
    """Per-point sigmoid logits of an FCOSHead.

    Records the student head's ``loss_by_feat`` (per-level ``cls_scores``)
    and ``get_targets`` (per-level labels of every point, images
    concatenated). Every point is a sample (FCOS has no ignored points);
    targets are the student's own point assignment (regress ranges and
    center sampling, background = num_classes); the terms are normalised by
    the number of positive points averaged over processes, floored at 1, the
    head's focal-loss avg_factor. Centerness stays the student's own loss.
    """
    head_attribute = 'bbox_head'
    #: positives only, as the AnchorHead source
    default_neg_weight = 0.0

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        check_same_priors(student.bbox_head.prior_generator,
                          teacher.bbox_head.prior_generator)
        self.num_classes = student.bbox_head.num_classes + 1
        self.scores = CallRecorder(student.bbox_head, 'loss_by_feat')
        self.targets = CallRecorder(student.bbox_head, 'get_targets')

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """One-stage, sigmoid classification, FCOSHead's own
        ``get_targets`` and ``loss_by_feat``."""
        head = model.bbox_head
        return (isinstance(model, SingleStageDetector) and head.use_sigmoid_cls
                and type(head).get_targets is FCOSHead.get_targets
                and type(head).loss_by_feat is FCOSHead.loss_by_feat)

    @property
    def recorders(self):
        return (self.scores, self.targets)

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """Every point, across levels and images."""
        cls_scores = self.scores.pop()[0]['cls_scores']
        labels = [level.view(len(cls_scores[0]), -1)
                  for level in self.targets.pop()[1][0]]
        num_pos = sum(int((level < self.num_classes - 1).sum())
                      for level in labels)
        return dense_logit_batch(
            cls_scores, teacher, teacher_feats, labels, None,
            mean_over_processes(num_pos, labels[0].device))
