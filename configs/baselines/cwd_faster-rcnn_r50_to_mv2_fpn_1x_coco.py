# CWD baseline: Faster R-CNN R50-FPN -> MobileNetV2-FPN, 1x COCO,
# on the same FPN maps as WKD-F (no projector, see _base_/distillation/cwd.py).
# Teacher and loss-weight schedule: those of the _base_ config.
_base_ = [
    '../wkd/wkd-lf_faster-rcnn_r50_to_mv2_fpn_1x_coco.py',
    '../_base_/distillation/cwd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_cwd={{_base_.loss_cwd}}))
