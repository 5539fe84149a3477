"""Logit source of one-stage detectors with a sigmoid ``AnchorHead`` that
keeps its base's targets and loss (RetinaNet), and the helpers dense-head
sources share."""
from typing import Sequence

import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.detectors import SingleStageDetector
from torch import nn

from .base import LOGIT_SOURCES, LogitBatch, LogitSource
from ..recorder import CallRecorder


@LOGIT_SOURCES.register_module('AnchorHead')
class AnchorHeadLogits(LogitSource):
    """Per-anchor sigmoid logits of an AnchorHead (e.g. RetinaHead).

    Records the student head's ``loss_by_feat`` (its per-level
    ``cls_scores``) and ``get_targets`` (labels and label weights per level,
    the same anchor order as the scores, and the number of positives).
    Every anchor with non-zero label weight is a sample, with its C sigmoid
    logits (the terms build the (C + 1)-way distribution, see
    :mod:`wkd_det.functional.class_distributions`); targets are the student
    head's own anchor assignment (background = num_classes); the terms are
    normalised by the number of positive anchors, the head's own avg_factor,
    as its focal loss is.
    """
    head_attribute = 'bbox_head'
    #: positives only, since ~10^3 negatives per positive would otherwise
    #: set the loss (not yet tuned on the benchmark)
    default_neg_weight = 0.0

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        head_s, head_t = student.bbox_head, teacher.bbox_head
        check_same_anchors(head_s.prior_generator, head_t.prior_generator)
        self.num_classes = head_s.num_classes + 1
        self.scores = CallRecorder(head_s, 'loss_by_feat')
        self.targets = CallRecorder(head_s, 'get_targets')

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """One-stage, sigmoid classification, AnchorHead's own
        ``get_targets`` and ``loss_by_feat`` (a head overriding them needs
        its own source)."""
        head = model.bbox_head
        return (isinstance(model, SingleStageDetector) and head.use_sigmoid_cls
                and type(head).get_targets is AnchorHead.get_targets
                and type(head).loss_by_feat is AnchorHead.loss_by_feat)

    @property
    def recorders(self):
        return (self.scores, self.targets)

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """Every anchor with non-zero label weight, across levels and
        images, normalised by the number of positive anchors."""
        scores_args, _ = self.scores.pop()
        _, targets = self.targets.pop()
        labels_list, label_weights_list = targets[:2]
        labels = torch.cat([labels.reshape(-1) for labels in labels_list])
        keep = torch.cat([w.reshape(-1) for w in label_weights_list]) > 0
        images = torch.cat([
            torch.arange(len(level), device=level.device).repeat_interleave(
                level[0].numel()) for level in labels_list])
        with torch.no_grad():
            teacher_scores = teacher.bbox_head(teacher_feats)[0]
        num_fg = self.num_classes - 1
        student_logits = flatten_scores(scores_args['cls_scores'], num_fg)
        teacher_logits = flatten_scores(teacher_scores, num_fg)
        avg_factor = max(float(targets[4]), 1.0)
        return LogitBatch(student_logits[keep], teacher_logits[keep],
                          labels[keep], 'sigmoid', avg_factor, images[keep])


def flatten_scores(cls_scores: Sequence[torch.Tensor],
                   num_classes: int) -> torch.Tensor:
    """Per-level (B, A*C, H, W) sigmoid logits of C = ``num_classes`` ->
    (N, C), anchors in the order of ``AnchorHead.get_targets`` (level,
    image, y, x, anchor)."""
    return torch.cat([
        score.permute(0, 2, 3, 1).reshape(-1, num_classes)
        for score in cls_scores
    ])


def check_same_anchors(student_anchors, teacher_anchors) -> None:
    """Refuse a teacher whose anchors differ from the student's."""
    same = (type(student_anchors) is type(teacher_anchors)
            and student_anchors.strides == teacher_anchors.strides
            and student_anchors.num_base_priors
            == teacher_anchors.num_base_priors
            and all(torch.equal(a, b) for a, b in zip(
                student_anchors.base_anchors, teacher_anchors.base_anchors)))
    if not same:
        raise ValueError(
            'logit terms on anchor heads need the same anchor layout in '
            'student and teacher; student anchor generator has strides '
            f'{student_anchors.strides}, '
            f'{student_anchors.num_base_priors} anchors per position, '
            f'teacher {teacher_anchors.strides}, '
            f'{teacher_anchors.num_base_priors}')
