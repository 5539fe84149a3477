"""Distillation losses registered in MMDetection's ``MODELS`` registry.

Each has a class attribute ``input_kind``: ``'logits'`` losses take
``(student_logits, teacher_logits, labels)``, ``'features'`` losses take
``(student_feat, teacher_feat)``.
"""
from .bdd_loss import BDDLoss
from .fitnet_loss import FitNetLoss
from .kd_loss import KDLoss
from .wkd_feature_loss import WKDFLoss
from .wkd_logit_loss import WKDLLoss

__all__ = ['BDDLoss', 'FitNetLoss', 'KDLoss', 'WKDFLoss', 'WKDLLoss']
