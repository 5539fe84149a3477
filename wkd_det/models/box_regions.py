"""Ground-truth box regions of FPN maps, for foreground-aware feature terms.

A feature term with ``regions='boxes'`` is applied to one fixed-size crop
per ground-truth box instead of the whole map: each box is RoIAligned
(``mmcv.ops.roi_align``, ``aligned=True``) to ``size`` x ``size`` positions
on the FPN level MMDetection's ``SingleRoIExtractor`` would pick for it
(index floor(log2(sqrt(w h) / 56)) among the term's levels, finest first,
clamped to them), from the projected student map and the teacher map of
that level's stride alike. WKD-F with ``grid=1`` then compares one
Gaussian per object, the detection counterpart of its spatial cells;
FitNet, PKD and CWD compare the crops.
"""
from typing import Sequence

import torch
from mmcv.ops import roi_align
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi

#: box side that maps to the first level, MMDetection's ``finest_scale``
FINEST_SCALE = 56


def gt_rois(batch_data_samples: SampleList) -> torch.Tensor:
    """(N, 5) ``(image index, x1, y1, x2, y2)`` of every ground-truth box."""
    return bbox2roi([sample.gt_instances.bboxes
                     for sample in batch_data_samples])


def roi_levels(rois: torch.Tensor, num_levels: int) -> torch.Tensor:
    """(N,) index among ``num_levels`` levels of each RoI, by its scale."""
    scale = torch.sqrt((rois[:, 3] - rois[:, 1]).clamp_min(0) *
                       (rois[:, 4] - rois[:, 2]).clamp_min(0))
    levels = torch.floor(torch.log2(scale / FINEST_SCALE + 1e-6))
    return levels.clamp(min=0, max=num_levels - 1).long()


def box_regions(feats: Sequence[torch.Tensor], rois: torch.Tensor,
                 strides: Sequence[int], size: int = 7) -> torch.Tensor:
    """Crops of ``rois`` from the maps of a term's levels.

    Args:
        feats (Sequence[Tensor]): the term's (B, C, H_l, W_l) maps, finest
            first.
        rois (Tensor): (N, 5) boxes in input pixels (:func:`gt_rois`).
        strides (Sequence[int]): each map's stride in input pixels.
        size (int): crop side in positions.

    Returns:
        Tensor: (N, C, size, size), each box from its own level.
    """
    levels = roi_levels(rois, len(feats))
    crops = feats[0].new_zeros(rois.size(0), feats[0].size(1), size, size)
    for index, (feat, stride) in enumerate(zip(feats, strides)):
        chosen = levels == index
        if chosen.any():
            crops[chosen] = roi_align(feat, rois[chosen], (size, size),
                                      1.0 / stride, 0, 'avg', True)
    return crops
