# FitNet baseline: RetinaNet R50-FPN -> R18-FPN on the digits set, on the
# same projected FPN maps as WKD-F; schedule and teacher as in the WKD-L+F
# config.
_base_ = [
    './wkd-lf_retinanet_r50_to_r18_digits.py',
    '../_base_/distillation/fitnet.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_fitnet={{_base_.loss_fitnet}}))
