"""Where the logit terms (WKD-L, KD, BDD) read student and teacher logits.

A logit source pairs, for one training step, the student's classification
logits with the teacher's logits for the same samples and the student's own
targets, as a :class:`LogitBatch`; targets are class indices in [0, K) with
K = num_classes + 1, background last:

- :class:`RoIHeadLogits` (two-stage, ``StandardRoIHead``): the RoIs the
  student samples for its bbox loss; the teacher's RoI head classifies the
  same boxes on the teacher's own FPN features (its RPN is not run).
  Targets are the sampler's labels; softmax logits (N, K); the terms
  average over the sampled RoIs.
- :class:`AnchorHeadLogits` (one-stage sigmoid ``AnchorHead``, e.g.
  RetinaNet): every anchor with non-zero label weight, with its C sigmoid
  logits (the terms build the (C + 1)-way distribution, see
  :mod:`wkd_det.functional.class_distributions`). Targets are the student
  head's own anchor assignment (background = num_classes); the terms are
  normalised by the number of positive anchors, the head's own avg_factor,
  as its focal loss is.

Negatives (background targets) get their own weight per term:
:func:`sample_weights`.
"""
from typing import NamedTuple, Optional, Sequence

import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.detectors import SingleStageDetector, TwoStageDetector
from mmdet.models.roi_heads import StandardRoIHead
from torch import nn

from ..functional import class_log_probs, num_distribution_classes
from .recorder import CallRecorder


class LogitBatch(NamedTuple):
    """One step's paired logits.

    Attributes:
        student_logits (Tensor): (N, K) softmax or (N, C) sigmoid logits.
        teacher_logits (Tensor): the teacher's, same shape, no gradient.
        labels (Tensor): (N,) targets, background = K - 1.
        head (str): 'softmax' or 'sigmoid'.
        avg_factor (float, optional): divisor of the weighted sum (None:
            the number of samples).
        images (Tensor): (N,) index of each sample's image in the batch.
    """
    student_logits: torch.Tensor
    teacher_logits: torch.Tensor
    labels: torch.Tensor
    head: str
    avg_factor: Optional[float]
    images: torch.Tensor

    def loss_inputs(self, weight: Optional[torch.Tensor]) -> dict:
        """Keyword arguments of a logit loss's ``forward``, the samples of
        weight 0 left out (they add nothing to the weighted sum, and on a
        dense head with ``neg_weight=0`` they are nearly all the anchors)."""
        student, teacher, labels = (self.student_logits, self.teacher_logits,
                                    self.labels)
        if weight is not None:
            keep = weight > 0
            student, teacher, labels, weight = (
                student[keep], teacher[keep], labels[keep], weight[keep])
        return dict(student_logits=student, teacher_logits=teacher,
                    labels=labels, head=self.head, weight=weight,
                    avg_factor=self.avg_factor)


def sample_weights(batch: LogitBatch, neg_weight: float = 1.0,
                   neg_topk: Optional[int] = None) -> Optional[torch.Tensor]:
    """(N,) weights: 1 for samples with a class target, ``neg_weight`` for
    background ones; with ``neg_topk``, only the ``neg_topk`` background
    samples of each image that the teacher scores highest (foreground mass
    ``1 - p_T(bg)``) keep ``neg_weight``, the rest get 0. None when every
    weight is 1 (the plain mean)."""
    if neg_weight == 1.0 and neg_topk is None:
        return None
    negative = batch.labels == num_distribution_classes(
        batch.teacher_logits, batch.head) - 1
    weight = torch.where(negative, neg_weight, 1.0).to(
        batch.teacher_logits.dtype)
    if neg_topk is not None:
        score = -torch.expm1(class_log_probs(batch.teacher_logits, 1.0,
                                             batch.head)[:, -1])
        keep = torch.zeros_like(negative)
        for image in batch.images.unique():
            candidates = torch.nonzero(negative & (batch.images == image))[:, 0]
            top = score[candidates].topk(min(neg_topk, len(candidates))).indices
            keep[candidates[top]] = True
        weight = torch.where(negative & ~keep, 0.0, weight)
    return weight

SUPPORTED = ('two-stage detectors with a StandardRoIHead and a softmax bbox '
             'head (e.g. FasterRCNN), and one-stage detectors whose bbox_head '
             'is an AnchorHead with sigmoid classification that keeps '
             "AnchorHead's get_targets/loss_by_feat (e.g. RetinaNet)")


class RoIHeadLogits:
    """RoI classification logits at the RoIs the student samples.

    Records ``student.roi_head.bbox_head.loss_and_target``, which receives
    the sampled RoIs and the student's ``cls_score`` and returns the
    sampler's labels from ``get_targets``.
    """
    #: weight of background RoIs unless a term sets ``neg_weight``: the
    #: sampler already balances them (25 % positives)
    default_neg_weight = 1.0

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        # the distiller has checked that the teacher has as many classes
        self.num_classes = student.roi_head.bbox_head.num_classes + 1
        self.recorder = CallRecorder(student.roi_head.bbox_head,
                                     'loss_and_target')

    @staticmethod
    def supports(model: nn.Module) -> bool:
        """Two-stage with a StandardRoIHead and a softmax bbox head."""
        if not (isinstance(model, TwoStageDetector)
                and isinstance(model.roi_head, StandardRoIHead)
                and model.roi_head.with_bbox):
            return False
        bbox_head = model.roi_head.bbox_head
        return not (bbox_head.custom_cls_channels
                    or getattr(bbox_head.loss_cls, 'use_sigmoid', False))

    @property
    def recorders(self) -> Sequence[CallRecorder]:
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


class AnchorHeadLogits:
    """Per-anchor sigmoid logits of an anchor head.

    Records the student head's ``loss_by_feat`` (its per-level
    ``cls_scores``) and ``get_targets`` (labels and label weights per level,
    the same anchor order as the scores, and the number of positives).
    """
    #: weight of background anchors unless a term sets ``neg_weight``:
    #: positives only, since ~10^3 negatives per positive would otherwise
    #: set the loss (not yet tuned on the benchmark)
    default_neg_weight = 0.0

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        head_s, head_t = student.bbox_head, teacher.bbox_head
        check_same_anchors(head_s.prior_generator, head_t.prior_generator)
        self.num_classes = head_s.num_classes + 1
        self.scores = CallRecorder(head_s, 'loss_by_feat')
        self.targets = CallRecorder(head_s, 'get_targets')

    @staticmethod
    def supports(model: nn.Module) -> bool:
        """One-stage with an AnchorHead-style sigmoid head."""
        head = getattr(model, 'bbox_head', None)
        return (isinstance(model, SingleStageDetector)
                and isinstance(head, AnchorHead) and head.use_sigmoid_cls
                and type(head).get_targets is AnchorHead.get_targets
                and type(head).loss_by_feat is AnchorHead.loss_by_feat)

    @property
    def recorders(self) -> Sequence[CallRecorder]:
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


def build_logit_source(student: nn.Module, teacher: nn.Module):
    """The logit source for this detector pair, or a ``ValueError`` naming
    the supported detector types."""
    for source in (RoIHeadLogits, AnchorHeadLogits):
        if source.supports(student):
            if not source.supports(teacher):
                raise ValueError(
                    f'logit terms: the teacher {type(teacher).__name__} does '
                    f'not match the student {type(student).__name__}; both '
                    f'must be one of the supported: {SUPPORTED}')
            return source(student, teacher)
    raise ValueError(f'logit terms: the student {type(student).__name__} is '
                     f'not supported; supported are {SUPPORTED}')
