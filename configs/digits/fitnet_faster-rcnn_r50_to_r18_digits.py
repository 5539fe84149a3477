# FitNet baseline: Faster R-CNN R50-FPN -> R18-FPN on the digits set, on the
# same projected FPN maps as WKD-F; schedule and teacher as in the WKD-L+F
# config.
_base_ = './wkd-lf_faster-rcnn_r50_to_r18_digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_fitnet=dict(
            type='FitNetLoss',
            loss_weight=1.0,  # per-element MSE of FPN maps, ~loss_cls scale
            levels=None,  # every FPN level, as WKD-F
            projector='conv')))  # learnable 1x1 conv, as WKD-F
