"""Convert the student's normalised batch to the teacher's normalisation.

A data preprocessor turns raw pixels r into ``x = (flip?(r) - mean) / std``,
where ``flip?`` reverses the channel order when it converts BGR <-> RGB.
When the teacher's preprocessor differs from the student's, the teacher
input is computed from the student's batch (no second pass over the data):

    r' = x_S * std_S + mean_S                (student channel order)
    x_T = (flip?(r') - mean_T) / std_T       (flip when the orders differ)

Padding, resizing and batch augmentations are the student's; the padded
border is converted like image pixels.
"""
from typing import Tuple

import torch
from torch import nn


def normalization_of(preprocessor: nn.Module) -> Tuple[torch.Tensor,
                                                       torch.Tensor, bool]:
    """``(mean, std, flips_channels)`` of an MMEngine image preprocessor;
    mean 0 and std 1 when it does not normalise, each (C, 1, 1) or (1,)."""
    if getattr(preprocessor, '_enable_normalize', False):
        mean, std = preprocessor.mean, preprocessor.std
    else:
        mean, std = torch.zeros(1), torch.ones(1)
    return mean, std, bool(getattr(preprocessor, '_channel_conversion', False))


def same_normalization(student_pre: nn.Module, teacher_pre: nn.Module) -> bool:
    """Whether both preprocessors normalise identically."""
    mean_s, std_s, flip_s = normalization_of(student_pre)
    mean_t, std_t, flip_t = normalization_of(teacher_pre)
    return (flip_s == flip_t and mean_s.shape == mean_t.shape
            and bool(torch.equal(mean_s.cpu(), mean_t.cpu()))
            and bool(torch.equal(std_s.cpu(), std_t.cpu())))


def to_teacher_normalization(inputs: torch.Tensor, student_pre: nn.Module,
                             teacher_pre: nn.Module) -> torch.Tensor:
    """(B, C, H, W) student-normalised batch -> teacher-normalised batch
    (see module docstring)."""
    mean_s, std_s, flip_s = normalization_of(student_pre)
    mean_t, std_t, flip_t = normalization_of(teacher_pre)
    raw = inputs * std_s.to(inputs) + mean_s.to(inputs)
    if flip_s != flip_t:
        raw = raw.flip(1)
    return (raw - mean_t.to(inputs)) / std_t.to(inputs)
