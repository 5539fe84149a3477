"""Logit source of ATSS (per-anchor sigmoid logits, ``ATSSHead``), and the
base of the sources of heads with ATSS-style targets."""
from mmdet.models.dense_heads import ATSSHead
from mmdet.models.detectors import SingleStageDetector
from torch import nn

from .anchor_head import (check_same_priors, dense_logit_batch,
                          mean_over_processes)
from .base import LOGIT_SOURCES, LogitBatch, LogitSource
from ..recorder import CallRecorder


@LOGIT_SOURCES.register_module('ATSSHead')
class ATSSHeadLogits(LogitSource):
    """Per-anchor sigmoid logits of an ATSSHead.

    Records the student head's ``loss_by_feat`` (per-level ``cls_scores``)
    and ``get_targets`` (anchors, then per-level labels and label weights,
    ..., and the number of positives last). Every anchor with non-zero
    label weight is a sample; targets are the student's own ATSS assignment
    (background = num_classes); the terms are normalised by the number of
    positives averaged over processes, floored at 1, the head's avg_factor.
    """
    head_attribute = 'bbox_head'
    #: positives only, as the AnchorHead source
    default_neg_weight = 0.0
    #: the head class whose ``get_targets`` and ``loss_by_feat`` are read
    head_class = ATSSHead

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        check_same_priors(student.bbox_head.prior_generator,
                          teacher.bbox_head.prior_generator)
        self.num_classes = student.bbox_head.num_classes + 1
        self.scores = CallRecorder(student.bbox_head, 'loss_by_feat')
        self.targets = CallRecorder(student.bbox_head, 'get_targets')

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """One-stage, sigmoid classification, :attr:`head_class`'s own
        ``get_targets`` and ``loss_by_feat``."""
        head = model.bbox_head
        return (isinstance(model, SingleStageDetector) and head.use_sigmoid_cls
                and type(head).get_targets is cls.head_class.get_targets
                and type(head).loss_by_feat is cls.head_class.loss_by_feat)

    @property
    def recorders(self):
        return (self.scores, self.targets)

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """Every anchor with non-zero label weight, across levels and
        images."""
        cls_scores = self.scores.pop()[0]['cls_scores']
        _, labels, label_weights, *_, num_pos = self.targets.pop()[1]
        return dense_logit_batch(
            cls_scores, teacher, teacher_feats, labels, label_weights,
            mean_over_processes(num_pos, labels[0].device))
