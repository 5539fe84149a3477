# CWD baseline: RetinaNet R50-FPN128 -> R18-FPN128 on the digits set, on the
# same FPN maps as WKD-F; schedule and teacher as in the WKD-L+F config.
_base_ = [
    './wkd-lf_retinanet_r50_to_r18_fpn128_digits.py',
    '../_base_/distillation/cwd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_cwd={{_base_.loss_cwd}}))
