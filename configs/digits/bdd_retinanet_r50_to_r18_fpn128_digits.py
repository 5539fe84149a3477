# BDD baseline: RetinaNet R50-FPN128 -> R18-FPN128 on the digits set, on the
# same anchor logits as WKD-L; schedule and teacher as in the WKD-L+F config.
_base_ = [
    './wkd-lf_retinanet_r50_to_r18_fpn128_digits.py',
    '../_base_/distillation/bdd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_bdd={{_base_.loss_bdd}}))
