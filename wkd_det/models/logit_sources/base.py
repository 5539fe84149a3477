"""What every logit source shares: the batch it returns, the negatives'
weights, the ``LOGIT_SOURCES`` registry and the lookup by head class.

A logit source pairs, for one training step, the student's classification
logits with the teacher's logits for the same samples and the student's own
targets, as a :class:`LogitBatch`; targets are class indices in [0, K) with
K = num_classes + 1, background last. Sources are registered under the name
of the head class they read (``roi_head`` of a two-stage detector,
``bbox_head`` of a one-stage one); for a detector, the registered name met
first along its head's MRO wins, so a source for a subclass overrides the
one for its base (see :func:`find_logit_source`).
"""
from typing import NamedTuple, Optional, Sequence, Type

import torch
from mmengine.registry import Registry
from torch import nn

from ...functional import class_log_probs, num_distribution_classes
from ..recorder import CallRecorder

#: logit sources, keyed by the name of the head class they read
LOGIT_SOURCES = Registry('logit source')
#: the detector attributes a logit source may read, in the order looked up
HEAD_ATTRIBUTES = ('roi_head', 'bbox_head')


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
        weight (Tensor, optional): (N,) weights the source gives the
            samples (e.g. a cascade's stage weights), multiplied by the
            negatives' (None: 1).
    """
    student_logits: torch.Tensor
    teacher_logits: torch.Tensor
    labels: torch.Tensor
    head: str
    avg_factor: Optional[float]
    images: torch.Tensor
    weight: Optional[torch.Tensor] = None

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
    """(N,) weights: the source's :attr:`LogitBatch.weight` times 1 for
    samples with a class target, ``neg_weight`` for background ones; with
    ``neg_topk``, only the ``neg_topk`` background samples of each image
    that the teacher scores highest (foreground mass ``1 - p_T(bg)``) keep
    ``neg_weight``, the rest get 0. None when every weight is 1 (the plain
    mean)."""
    if neg_weight == 1.0 and neg_topk is None:
        return batch.weight
    negative = batch.labels == num_distribution_classes(
        batch.teacher_logits, batch.head) - 1
    weight = torch.where(negative, neg_weight, 1.0).to(
        batch.teacher_logits.dtype)
    if batch.weight is not None:
        weight = weight * batch.weight
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


class LogitSource:
    """Base of the logit sources: a subclass registered as
    ``@LOGIT_SOURCES.register_module('HeadClassName')`` reads that head.

    A subclass implements ``__init__(student, teacher)`` (set
    :attr:`num_classes`, wrap the student head's methods in
    :class:`~wkd_det.models.recorder.CallRecorder`), :attr:`recorders` and
    :meth:`collect`, and may narrow :meth:`supports`.
    """
    #: the detector attribute holding the head read ('roi_head'/'bbox_head')
    head_attribute = 'bbox_head'
    #: weight of background samples unless a term sets ``neg_weight``
    default_neg_weight = 1.0
    #: K, the classes of the distributions, background included
    num_classes: int

    @classmethod
    def supports(cls, model: nn.Module) -> bool:
        """Whether this source can read ``model`` (its head is an instance
        of the registered class; subclasses add conditions)."""
        return getattr(model, cls.head_attribute, None) is not None

    @property
    def recorders(self) -> Sequence[CallRecorder]:
        """The student calls recorded during its loss."""
        raise NotImplementedError

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """This step's :class:`LogitBatch` (teacher logits without grad)."""
        raise NotImplementedError


def find_logit_source(model: nn.Module) -> Optional[Type[LogitSource]]:
    """The registered source for ``model``: for its ``roi_head`` (else its
    ``bbox_head``), the first class along the head's MRO whose name is
    registered, if that source :meth:`~LogitSource.supports` the model."""
    for attribute in HEAD_ATTRIBUTES:
        head = getattr(model, attribute, None)
        if head is None:
            continue
        for cls in type(head).__mro__:
            source = LOGIT_SOURCES.get(cls.__name__)
            if source is not None and source.head_attribute == attribute:
                return source if source.supports(model) else None
    return None


def supported_heads() -> str:
    """The registered sources, one phrase each, for error messages."""
    return '; '.join(f'{name} ({source.__name__}: '
                     f'{(source.__doc__ or "").strip().splitlines()[0].rstrip(".")})'
                     for name, source in sorted(LOGIT_SOURCES.module_dict.items()))


def build_logit_source(student: nn.Module, teacher: nn.Module) -> LogitSource:
    """The logit source for this detector pair, or a ``ValueError`` naming
    the registered heads. Student and teacher must be read by the same
    source (the samples are paired through it)."""
    source = find_logit_source(student)
    if source is None:
        raise ValueError(
            f'logit terms: no logit source reads the student '
            f'{type(student).__name__} ({_heads(student)}); registered: '
            f'{supported_heads()}. Register one for your head with '
            "@LOGIT_SOURCES.register_module('YourHead'), see the README")
    teacher_source = find_logit_source(teacher)
    if teacher_source is not source:
        raise ValueError(
            f'logit terms: the teacher {type(teacher).__name__} '
            f'({_heads(teacher)}) is read by '
            f'{getattr(teacher_source, "__name__", "no logit source")}, the '
            f'student {type(student).__name__} by {source.__name__}; logit '
            'terms pair samples through one source, so both heads must be of '
            f'one registered kind: {supported_heads()}. Feature terms work '
            'across families')
    return source(student, teacher)


def _heads(model: nn.Module) -> str:
    heads = [f'{attribute} {type(getattr(model, attribute)).__name__}'
             for attribute in HEAD_ATTRIBUTES
             if getattr(model, attribute, None) is not None]
    return ', '.join(heads) or 'no roi_head or bbox_head'
