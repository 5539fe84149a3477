"""Logit source of RTMDet (per-point sigmoid logits, ``RTMDetHead`` and
``RTMDetSepBNHead``)."""
from mmdet.models.dense_heads import RTMDetHead
from torch import nn

from .anchor_head import dense_logit_batch, mean_over_processes
from .atss_head import ATSSHeadLogits
from .base import LOGIT_SOURCES, LogitBatch


@LOGIT_SOURCES.register_module('RTMDetHead')
class RTMDetHeadLogits(ATSSHeadLogits):
    """Per-point sigmoid logits of an RTMDetHead (and RTMDetSepBNHead).

    Records the student head's ``loss_by_feat`` (per-level ``cls_scores``)
    and ``get_targets`` (priors, then per-level labels, label weights, box
    targets and assign metrics, the soft labels of the dynamic soft-label
    assigner). Samples are the priors of non-zero label weight; targets
    are the student's own assignment (background = num_classes), the class
    index alone (the logits are joint class-quality scores, as GFL's); the
    terms are normalised as the head's quality focal loss: by the sum of
    the assign metrics averaged over processes, floored at 1.
    """
    head_class = RTMDetHead

    def collect(self, teacher: nn.Module, teacher_feats) -> LogitBatch:
        """Every prior with non-zero label weight, across levels and
        images."""
        cls_scores = self.scores.pop()[0]['cls_scores']
        _, labels, label_weights, _, metrics, _ = self.targets.pop()[1]
        return dense_logit_batch(
            cls_scores, teacher, teacher_feats, labels, label_weights,
            mean_over_processes(sum(level.sum() for level in metrics),
                                labels[0].device))
