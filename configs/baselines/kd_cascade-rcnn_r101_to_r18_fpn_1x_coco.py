# KD baseline: Cascade R-CNN R101-FPN -> R18-FPN, 1x COCO,
# on the same logits as WKD-L.
# Teacher and loss-weight schedule: those of the _base_ config.
_base_ = [
    '../wkd/wkd-lf_cascade-rcnn_r101_to_r18_fpn_1x_coco.py',
    '../_base_/distillation/kd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_kd={{_base_.loss_kd}}))
