# Cascade R-CNN R50-FPN on the digits set (the multi-stage teacher): the
# Faster R-CNN teacher's backbone, FPN, RPN, data and schedule with the
# 3-stage cascade of ../_base_/models/cascade-rcnn_roi_head_digits.py.
_base_ = [
    './faster-rcnn_r50_fpn_digits.py',
    '../_base_/models/cascade-rcnn_roi_head_digits.py'
]

model = dict(
    type='CascadeRCNN',
    roi_head=dict(_base_.cascade_roi_head, _delete_=True),
    train_cfg=dict(rcnn=_base_.cascade_rcnn_train_cfg))
