"""Feature-map baselines PKD and CWD between (B, C, H, W) FPN maps.

    PKD = mean over b, c, positions of (z(F_S)[b, c] - z(F_T)[b, c])^2,
          z(x) = (x - mean_HW(x)) / sqrt(var_HW(x) + eps)
    CWD = tau^2 * mean over b, c of KL(softmax_HW(F_T[b, c] / tau)
                                       || softmax_HW(F_S[b, c] / tau))

PKD (Cao et al., "PKD: General Distillation Framework for Object Detectors
via Pearson Correlation Coefficient", NeurIPS 2022) standardises every channel
of every image over its H x W positions (population variance), so that the
student imitates the teacher's spatial pattern, not its magnitude: with
eps = 0 the MSE of a pair of standardised channels is 2 (1 - r), r their
Pearson correlation, so the loss is invariant to ``a * x + b`` (a > 0) applied
per channel to either map. It differs from MMRazor's ``PKDLoss``
(mmrazor/models/losses/pkd_loss.py, the reference implementation) in three
ways:

- MMRazor standardises each channel over (N, H, W), the whole batch at once,
  with the unbiased std and ``/ (std + 1e-6)``; here each image separately
  over (H, W), with ``/ sqrt(var + eps)``. Per image, the statistics of one
  image do not depend on which images share its batch (so one call on a
  batch equals the mean of one call per image, as the distiller makes when
  it crops the batch padding away), and the population
  variance with eps inside the root keeps a constant channel or a
  one-position map (P6 of a small image) finite with a finite gradient
  (its standardised map is 0) where the unbiased std divides by H*W - 1 = 0.
- MMRazor halves the MSE (per level about mean(1 - r)); here the plain
  MSE, 2 mean(1 - r). The factor 2 is in the loss weight of
  configs/_base_/distillation/pkd.py, which says how it maps MMRazor's.
- MMRazor resizes the student map to the teacher's size when they differ;
  here differing shapes are refused (the distiller pairs levels of equal
  stride, so they never differ there).

CWD (Shu et al., "Channel-wise Knowledge Distillation for Dense Prediction",
ICCV 2021) turns every channel of every image into a distribution over its
H x W positions, softened by tau, and takes the teacher-to-student KL; the
sum over positions is averaged over channels and images, as MMRazor's
``ChannelWiseDivergence`` (sum / (N * C)). It is zero when the maps are
equal and, softmax being shift invariant, unchanged by adding a per-channel
(per image) constant to either map. The authors' detection code uses the
cross-entropy ``-sum p_T log p_S`` instead of the KL: the two differ by the
teacher's entropy, a constant, and have the same gradient.

Default weights (configs/_base_/distillation/pkd.py and cwd.py), from
MMRazor's Faster R-CNN R101 -> R50 FPN configs, whose per-level losses are
summed over levels where ``DetectionDistiller`` averages them: PKD, from
pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py (6 per level on MSE / 2,
i.e. 3 on our MSE), loss_weight = 5 levels x 3 = 15; CWD, from
cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py (tau = 1, 10 per level), tau = 1 and
loss_weight = 5 levels x 10 = 50.

Both losses take the maps they are given whole: the published
implementations include the batch padding, ``DetectionDistiller`` passes each
image's valid region instead when images are padded differently. Both are
computed in at least float32.
"""
import torch
import torch.nn.functional as F

from .checks import at_least_float32, check_finite
from .divergences import kl_divergence


def _check_maps(loss_name: str, student_feat: torch.Tensor,
                teacher_feat: torch.Tensor) -> None:
    """Refuse non-finite maps, maps of different shapes and non-4-D maps."""
    check_finite(loss_name, student_feat=student_feat, teacher_feat=teacher_feat)
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'{loss_name}: student map {tuple(student_feat.shape)} '
                         f'and teacher map {tuple(teacher_feat.shape)} differ; '
                         'project the student to the teacher channels and '
                         'use levels of the same stride')
    if student_feat.dim() != 4:
        raise ValueError(f'{loss_name}: expected (B, C, H, W) maps, got shape '
                         f'{tuple(student_feat.shape)}')


def standardize_channels(feat: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(B, C, H, W) map with each channel of each image shifted and scaled to
    zero mean and unit (population) variance over its H x W positions:
    ``(x - mean) / sqrt(var + eps)``."""
    var, mean = torch.var_mean(feat, dim=(2, 3), correction=0, keepdim=True)
    return (feat - mean) * torch.rsqrt(var + eps)


def pkd_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor,
             eps: float = 1e-6) -> torch.Tensor:
    """PKD: MSE between the per-image, per-channel standardised maps (see
    module docstring); 0 for an empty map."""
    _check_maps('PKD', student_feat, teacher_feat)
    if eps < 0:
        raise ValueError(f'PKD: eps must be >= 0, got {eps}')
    if student_feat.numel() == 0:
        return student_feat.sum() * 0.0
    return F.mse_loss(standardize_channels(at_least_float32(student_feat), eps),
                      standardize_channels(at_least_float32(teacher_feat), eps))


def cwd_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor,
             tau: float = 1.0) -> torch.Tensor:
    """CWD: ``tau^2 * KL(teacher || student)`` of the per-channel softmax over
    the H x W positions, averaged over channels and images (see module
    docstring); 0 for an empty map."""
    _check_maps('CWD', student_feat, teacher_feat)
    if not tau > 0:
        raise ValueError(f'CWD: tau must be > 0, got {tau}')
    if student_feat.numel() == 0:
        return student_feat.sum() * 0.0
    positions = student_feat.size(2) * student_feat.size(3)
    log_p_s = F.log_softmax(
        at_least_float32(student_feat).reshape(-1, positions) / tau, dim=1)
    log_p_t = F.log_softmax(
        at_least_float32(teacher_feat).reshape(-1, positions) / tau, dim=1)
    return tau**2 * kl_divergence(log_p_t, log_p_s).mean()
