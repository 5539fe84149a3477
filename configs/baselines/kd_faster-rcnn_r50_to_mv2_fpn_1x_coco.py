# KD baseline: Faster R-CNN R50-FPN -> MobileNetV2-FPN, 1x COCO,
# on the same logits as WKD-L.
# Teacher and loss-weight schedule: those of the _base_ config.
_base_ = '../wkd/wkd-lf_faster-rcnn_r50_to_mv2_fpn_1x_coco.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_kd=dict(
            type='KDLoss',
            tau=2.0,  # WKD-L's temperature, for a like-for-like comparison
            loss_weight=1.0)))  # tau^2-scaled KL is on the scale of loss_cls
