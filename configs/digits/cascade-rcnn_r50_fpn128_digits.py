# Cascade R-CNN R50-FPN on the digits set with a 128-channel FPN and heads:
# the 128-channel Faster R-CNN teacher (160 px inputs, RoIAlign with 2 x 2
# samples per bin) with the 3-stage cascade of the 256-channel pair, whose
# stages read that teacher's 128-channel RoI features.
_base_ = [
    './faster-rcnn_r50_fpn128_digits.py',
    '../_base_/models/cascade-rcnn_roi_head_digits.py'
]

model = dict(
    type='CascadeRCNN',
    roi_head=dict(
        _base_.cascade_roi_head,
        _delete_=True,
        bbox_roi_extractor=_base_.model.roi_head.bbox_roi_extractor,
        bbox_head=[
            dict(
                stage,
                in_channels=_base_.model.roi_head.bbox_head.in_channels)
            for stage in _base_.cascade_roi_head.bbox_head
        ]),
    train_cfg=dict(rcnn=_base_.cascade_rcnn_train_cfg))
