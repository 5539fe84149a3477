# PKD baseline: Faster R-CNN R50-FPN -> R18-FPN on the digits set, on the
# same FPN maps as WKD-F (no projector, see _base_/distillation/pkd.py);
# schedule and teacher as in the WKD-L+F config.
_base_ = [
    './wkd-lf_faster-rcnn_r50_to_r18_digits.py',
    '../_base_/distillation/pkd.py'
]

model = dict(
    distill_losses=dict(_delete_=True, loss_pkd={{_base_.loss_pkd}}))
