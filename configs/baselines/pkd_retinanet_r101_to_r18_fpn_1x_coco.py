# PKD baseline: RetinaNet R101-FPN -> R18-FPN, 1x COCO,
# on the same FPN maps as WKD-F (no projector, see _base_/distillation/pkd.py).
# Teacher and loss-weight schedule: those of the _base_ config.
_base_ = [
    '../wkd/wkd-lf_retinanet_r101_to_r18_fpn_1x_coco.py',
    '../_base_/distillation/pkd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_pkd={{_base_.loss_pkd}}))
