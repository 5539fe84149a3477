# BDD baseline: RetinaNet R50-FPN (teacher) -> R18-FPN (student) on the
# digits set, on the same anchor logits as WKD-L; schedule and teacher as in
# wkd-lf_retinanet_r50_to_r18_digits.py.
_base_ = [
    './wkd-lf_retinanet_r50_to_r18_digits.py',
    '../_base_/distillation/bdd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_bdd={{_base_.loss_bdd}}))
