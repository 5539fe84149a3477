"""Distillation losses registered in MMDetection's ``MODELS`` registry.

Each has a class attribute ``input_kind``: ``'logits'`` losses take
``(student_logits, teacher_logits, labels)``, ``'features'`` losses take
``(student_feat, teacher_feat)``.
"""
from .bdd_loss import BDDLoss
from .cwd_loss import CWDLoss
from .fitnet_loss import FitNetLoss
from .kd_loss import KDLoss
from .pkd_loss import PKDLoss
from .wkd_feature_loss import WKDFLoss
from .wkd_logit_loss import WKDLLoss

__all__ = [
    'BDDLoss', 'CWDLoss', 'FitNetLoss', 'KDLoss', 'PKDLoss', 'WKDFLoss',
    'WKDLLoss'
]
