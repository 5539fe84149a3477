# WKD-F across families: Cascade R-CNN R101-FPN (teacher, MMDetection model
# zoo, 42.0 bbox mAP) -> Faster R-CNN R18-FPN (student), 1x schedule on
# COCO. Both FPNs are P2-P6 (strides 4..64), paired level by level. Feature
# terms only: logit terms pair the samples of one head family (a cascade's
# stages have no counterpart in a single-stage RoI head).
_base_ = [
    '../students/faster-rcnn_r18_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'cascade_rcnn/cascade_rcnn_r101_fpn_1x_coco/'
    'cascade_rcnn_r101_fpn_1x_coco_20200317-0b6a2fbf.pth',
    distill_losses=dict(loss_wkd_f={{_base_.loss_wkd_f}}))
