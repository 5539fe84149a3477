"""Where the logit terms (WKD-L, KD, BDD) read student and teacher logits.

A logit source pairs, for one training step, the student's classification
logits with the teacher's logits for the same samples and the student's own
targets, all (N, K) / (N,) with K = num_classes + 1, background last:

- :class:`RoIHeadLogits` (two-stage, ``StandardRoIHead``): the RoIs the
  student samples for its bbox loss; the teacher's RoI head classifies the
  same boxes on the teacher's own FPN features (its RPN is not run).
  Targets are the sampler's labels.
- :class:`AnchorHeadLogits` (one-stage sigmoid ``AnchorHead``, e.g.
  RetinaNet): every anchor with non-zero label weight; the C sigmoid logits
  get a zero background logit appended. Targets are the student head's own
  anchor assignment (background = num_classes).
"""
from typing import Sequence, Tuple

import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.detectors import SingleStageDetector, TwoStageDetector
from mmdet.models.roi_heads import StandardRoIHead
from torch import nn

from .recorder import CallRecorder

LogitTriple = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]

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

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitTriple:
        """Student logits, teacher logits (no grad) and labels of this step's
        sampled RoIs (those with non-zero label weight)."""
        args, result = self.recorder.pop()
        labels, label_weights = result['bbox_targets'][:2]
        keep = label_weights > 0
        with torch.no_grad():
            teacher_logits = teacher.roi_head._bbox_forward(
                teacher_feats, args['rois'])['cls_score']
        return args['cls_score'][keep], teacher_logits[keep], labels[keep]


class AnchorHeadLogits:
    """Per-anchor (C + 1)-way logits of a sigmoid anchor head.

    Records the student head's ``loss_by_feat`` (its per-level
    ``cls_scores``) and ``get_targets`` (labels and label weights per level,
    the same anchor order as the scores).
    """

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

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitTriple:
        """Student logits, teacher logits (no grad) and labels of every
        anchor with non-zero label weight, across levels and images."""
        scores_args, _ = self.scores.pop()
        _, targets = self.targets.pop()
        labels_list, label_weights_list = targets[:2]
        labels = torch.cat([labels.reshape(-1) for labels in labels_list])
        keep = torch.cat([w.reshape(-1) for w in label_weights_list]) > 0
        with torch.no_grad():
            teacher_scores = teacher.bbox_head(teacher_feats)[0]
        num_fg = self.num_classes - 1
        student_logits = with_background(scores_args['cls_scores'], num_fg)
        teacher_logits = with_background(teacher_scores, num_fg)
        return student_logits[keep], teacher_logits[keep], labels[keep]


def with_background(cls_scores: Sequence[torch.Tensor],
                    num_classes: int) -> torch.Tensor:
    """Per-level (B, A*C, H, W) sigmoid logits of C = ``num_classes`` ->
    (N, C + 1) with a zero background column; anchors in the order of
    ``AnchorHead.get_targets`` (level, image, y, x, anchor)."""
    logits = torch.cat([
        score.permute(0, 2, 3, 1).reshape(-1, num_classes)
        for score in cls_scores
    ])
    return torch.cat([logits, logits.new_zeros(logits.size(0), 1)], dim=1)


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
