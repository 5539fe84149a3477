# KD baseline: Faster R-CNN R50-FPN -> R18-FPN on the digits set, on the same
# RoI logits as WKD-L; schedule and teacher as in the WKD-L+F config.
_base_ = './wkd-lf_faster-rcnn_r50_to_r18_digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_kd=dict(
            type='KDLoss',
            tau=2.0,  # the same softening as WKD-L's tau
            loss_weight=1.0)))  # logit terms are of the order of loss_cls
