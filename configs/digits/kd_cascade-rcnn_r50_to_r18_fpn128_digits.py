# KD baseline: Cascade R-CNN R50-FPN128 -> R18-FPN128 on the digits set, on
# the same per-stage RoI logits as WKD-L; schedule and teacher as in the
# WKD-L+F config.
_base_ = [
    './wkd-lf_cascade-rcnn_r50_to_r18_fpn128_digits.py',
    '../_base_/distillation/kd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_kd={{_base_.loss_kd}}))
