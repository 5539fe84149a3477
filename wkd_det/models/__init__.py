"""The distiller, registered in MMDetection's ``MODELS`` registry."""
from .distiller import DetectionDistiller

__all__ = ['DetectionDistiller']
