# BDD baseline: Faster R-CNN R101-FPN -> R18-FPN, 1x COCO,
# on the same logits as WKD-L.
# Teacher and loss-weight schedule: those of the _base_ config.
_base_ = '../wkd/wkd-lf_faster-rcnn_r101_to_r18_fpn_1x_coco.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_bdd=dict(
            type='BDDLoss',
            tau_forward=2.0,  # tau_f = WKD-L's temperature
            tau_reverse=2.0,  # tau_r = tau_f (METHODS default)
            alpha=1.0,  # forward-KL weight (METHODS default)
            beta=1.0,  # reverse-KL weight (METHODS default)
            loss_weight=1.0)))  # as KD
