# BDD baseline: Faster R-CNN R50-FPN (teacher) -> R18-FPN (student) on the
# digits set, on the same RoI logits as WKD-L; schedule and teacher as in
# wkd-lf_faster-rcnn_r50_to_r18_digits.py.
_base_ = './wkd-lf_faster-rcnn_r50_to_r18_digits.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_bdd=dict(
            type='BDDLoss',
            tau_forward=2.0,  # tau_f, the same softening as WKD-L's tau
            tau_reverse=2.0,  # tau_r = tau_f (METHODS default)
            alpha=1.0,  # forward-KL weight (METHODS default)
            beta=1.0,  # reverse-KL weight (METHODS default)
            loss_weight=1.0)))  # KD-style weight, logit terms are ~loss_cls
