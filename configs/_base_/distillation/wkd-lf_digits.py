# WKD-L + WKD-F on the digits set: the COCO losses with a uniform cost (no
# class-relation prior for digits; 11 classes need little softening) and the
# weight decay over the last half of the 6-epoch schedule.
_base_ = './wkd-lf_1x_coco.py'

loss_wkd_l = dict(cost='uniform')
loss_wkd_l_dense = dict(cost='uniform')
loss_wkd_l_retinanet_with_f = dict(cost='uniform')

custom_hooks = [
    dict(type='DistillLossWeightHook', schedule='cosine', start=3),
    dict(type='DistillerCheckpointHook'),
    dict(type='DistillClassCheckHook'),
]
