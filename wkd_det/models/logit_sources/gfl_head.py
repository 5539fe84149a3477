"""Logit source of GFL (per-anchor joint class-quality logits,
``GFLHead``)."""
from mmdet.models.dense_heads import GFLHead

from .atss_head import ATSSHeadLogits
from .base import LOGIT_SOURCES


@LOGIT_SOURCES.register_module('GFLHead')
class GFLHeadLogits(ATSSHeadLogits):
    """Per-anchor joint class-quality sigmoid logits of a GFLHead.

    Read as :class:`~.atss_head.ATSSHeadLogits` reads ATSS (GFL's
    ``get_targets`` returns the same tuple): samples are the anchors of
    non-zero label weight, targets the student's own ATSS assignment,
    normalised by its number of positives (the quality focal loss's
    avg_factor). The class index is the target: the soft IoU score that the
    head's quality focal loss regresses is not used, since the logits
    themselves are joint class-quality scores, so the teacher's predicted
    quality is already the foreground mass of its distribution (max_c
    sigmoid, see :mod:`wkd_det.functional.class_distributions`).
    """
    head_class = GFLHead
