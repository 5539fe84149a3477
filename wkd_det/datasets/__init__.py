"""Datasets: a synthetic COCO-format digits detection set for quick runs."""
from .digits_coco import DIGIT_CLASSES, make_digits_coco

__all__ = ['DIGIT_CLASSES', 'make_digits_coco']
