# CWD baseline: RetinaNet R50-FPN -> R18-FPN on the digits set, on the
# same FPN maps as WKD-F (no projector, see _base_/distillation/cwd.py);
# schedule and teacher as in the WKD-L+F config.
_base_ = [
    './wkd-lf_retinanet_r50_to_r18_digits.py',
    '../_base_/distillation/cwd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_cwd={{_base_.loss_cwd}}))
