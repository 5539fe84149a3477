"""Datasets: a synthetic COCO-format digits detection set for quick runs,
and object crops of a detection split for backbone pretraining."""
from .digits_coco import DIGIT_CLASSES, make_digits_coco
from .object_crops import ObjectCrops

__all__ = ['DIGIT_CLASSES', 'ObjectCrops', 'make_digits_coco']
