"""Where the logit terms (WKD-L, KD, BDD) read student and teacher logits:
one registered source per head family (:mod:`.base` has the registry and
the lookup, one module per family)."""
from .anchor_head import (AnchorHeadLogits, check_same_priors, class_scores,
                          dense_logit_batch, flatten_scores)
from .atss_head import ATSSHeadLogits
from .base import (LOGIT_SOURCES, LogitBatch, LogitSource,
                   build_logit_source, find_logit_source, sample_weights)
from .fcos_head import FCOSHeadLogits
from .gfl_head import GFLHeadLogits
from .roi_head import CascadeRoIHeadLogits, RoIHeadLogits
from .rtmdet_head import RTMDetHeadLogits

__all__ = [
    'LOGIT_SOURCES', 'LogitBatch', 'LogitSource', 'build_logit_source',
    'find_logit_source', 'sample_weights', 'RoIHeadLogits', 'CascadeRoIHeadLogits',
    'AnchorHeadLogits', 'class_scores', 'flatten_scores', 'check_same_priors',
    'dense_logit_batch', 'FCOSHeadLogits', 'ATSSHeadLogits', 'GFLHeadLogits',
    'RTMDetHeadLogits'
]
