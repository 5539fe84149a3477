"""Logit source of one-stage detectors with a sigmoid ``AnchorHead`` that
keeps its base's targets and loss (RetinaNet), and the helpers dense-head
sources share."""
from functools import reduce
from typing import List, Optional, Sequence, Union

import torch
from mmdet.models.dense_heads import (AnchorHead, ATSSHead, FCOSHead, GFLHead,
                                      RetinaHead)
from mmdet.models.detectors import SingleStageDetector
from mmdet.utils import reduce_mean
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
        check_same_priors(head_s.prior_generator, head_t.prior_generator)
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
        return dense_logit_batch(scores_args['cls_scores'], teacher,
                                 teacher_feats, *targets[:2], targets[4])


def dense_logit_batch(cls_scores: Sequence[torch.Tensor], teacher: nn.Module,
                      teacher_feats: Sequence[torch.Tensor],
                      labels: Sequence[torch.Tensor],
                      label_weights: Optional[Sequence[torch.Tensor]],
                      avg_factor: float) -> LogitBatch:
    """The :class:`LogitBatch` of a dense sigmoid head.

    Args:
        cls_scores (list[Tensor]): the student's per-level (B, A*C, H, W)
            logits, as its ``loss_by_feat`` received them.
        teacher (nn.Module): the teacher detector; its ``bbox_head`` on
            ``teacher_feats`` scores the same priors (:func:`class_scores`).
        teacher_feats (tuple[Tensor]): the teacher's neck outputs.
        labels (list[Tensor]): the student's per-level (B, H*W*A) targets
            (background = C), priors in :func:`flatten_scores` order.
        label_weights (list[Tensor], optional): same shapes; the priors of
            weight 0 are left out (None: every prior is a sample).
        avg_factor (float): the head's divisor of its classification
            loss, floored at 1.
    """
    with torch.no_grad():
        teacher_scores = class_scores(teacher.bbox_head, teacher_feats)
    shapes = [tuple(score.shape) for score in cls_scores]
    teacher_shapes = [tuple(score.shape) for score in teacher_scores]
    if shapes != teacher_shapes:
        raise ValueError('logit terms: the teacher head scores other priors '
                         f'than the student head; score shapes per level: '
                         f'student {shapes}, teacher {teacher_shapes}')
    num_classes = teacher.bbox_head.cls_out_channels
    flat_labels = torch.cat([level.reshape(-1) for level in labels])
    keep = torch.ones_like(flat_labels, dtype=torch.bool)
    if label_weights is not None:
        keep = torch.cat([w.reshape(-1) for w in label_weights]) > 0
    images = torch.cat([
        torch.arange(len(level), device=level.device).repeat_interleave(
            level[0].numel()) for level in labels])
    student_logits = flatten_scores(cls_scores, num_classes)
    teacher_logits = flatten_scores(teacher_scores, num_classes)
    return LogitBatch(student_logits[keep], teacher_logits[keep],
                      flat_labels[keep], 'sigmoid', max(float(avg_factor), 1.0),
                      images[keep])


#: dense heads whose forward classifies each level as
#: ``final(cls_convs(x))``, independent of the regression branch:
#: head class -> attribute of the final classification conv
CLASS_BRANCHES = {RetinaHead: 'retina_cls', FCOSHead: 'conv_cls',
                  ATSSHead: 'atss_cls', GFLHead: 'gfl_cls'}


def class_scores(head: nn.Module,
                 feats: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Per-level (B, A*C, H, W) classification logits of a dense ``head`` on
    ``feats``, the same values as ``head(feats)[0]``.

    A head whose ``forward`` and ``forward_single`` are those of a class in
    :data:`CLASS_BRANCHES` runs its classification branch alone: the
    regression branch (as many convolutions again) is not needed for the
    logit terms. Any other head (a subclass overriding either method,
    RTMDet's objectness, a user's head) runs its whole forward.
    """
    for head_class, final in CLASS_BRANCHES.items():
        if (type(head).forward is head_class.forward
                and type(head).forward_single is head_class.forward_single):
            classify = getattr(head, final)
            return [classify(reduce(lambda x, conv: conv(x), head.cls_convs,
                                    feat)) for feat in feats]
    return head(feats)[0]


def mean_over_processes(total: Union[float, torch.Tensor],
                        device: torch.device) -> float:
    """``total`` (a count or a sum) averaged over the distributed processes,
    as the FCOS, ATSS, GFL and RTMDet heads take their avg_factor."""
    return reduce_mean(torch.as_tensor(
        total, dtype=torch.float, device=device)).item()


def flatten_scores(cls_scores: Sequence[torch.Tensor],
                   num_classes: int) -> torch.Tensor:
    """Per-level (B, A*C, H, W) sigmoid logits of C = ``num_classes`` ->
    (N, C), priors in the order of the dense heads' ``get_targets``
    (level, image, y, x, prior)."""
    return torch.cat([
        score.permute(0, 2, 3, 1).reshape(-1, num_classes)
        for score in cls_scores
    ])


def check_same_priors(student_priors, teacher_priors) -> None:
    """Refuse a teacher whose priors differ from the student's: prior
    generators of one type with the same strides (hence levels), priors per
    position, base anchors (anchor generators) and offset (points)."""
    kind = 'anchor' if hasattr(student_priors, 'base_anchors') else 'point'
    same = (type(student_priors) is type(teacher_priors)
            and student_priors.strides == teacher_priors.strides
            and student_priors.num_base_priors
            == teacher_priors.num_base_priors
            and getattr(student_priors, 'offset', None)
            == getattr(teacher_priors, 'offset', None)
            and all(torch.equal(a, b) for a, b in zip(
                getattr(student_priors, 'base_anchors', ()),
                getattr(teacher_priors, 'base_anchors', ()))))
    if not same:
        raise ValueError(
            f'logit terms on {kind} heads need the same {kind} layout in '
            f'student and teacher; student {type(student_priors).__name__} '
            f'has strides {student_priors.strides}, '
            f'{student_priors.num_base_priors} {kind}s per position, '
            f'teacher {type(teacher_priors).__name__} '
            f'{teacher_priors.strides}, {teacher_priors.num_base_priors}')
