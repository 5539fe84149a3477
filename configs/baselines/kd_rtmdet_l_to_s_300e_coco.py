# KD baseline: RTMDet-l -> RTMDet-s, 300 epochs on COCO, on the same
# logits as WKD-L. Teacher, hooks and loss-weight schedule: those of the
# _base_ config.
_base_ = [
    '../wkd/wkd-l_rtmdet_l_to_s_300e_coco.py',
    '../_base_/distillation/kd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_kd={{_base_.loss_kd}}))
