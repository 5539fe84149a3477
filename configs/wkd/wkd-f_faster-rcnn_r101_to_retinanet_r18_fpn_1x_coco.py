# WKD-F across families: Faster R-CNN R101-FPN (teacher, MMDetection model
# zoo, 39.4 bbox mAP; P2-P6, strides 4..64) -> RetinaNet R18-FPN (student;
# P3-P7, strides 8..128), 1x schedule on COCO. Levels pair by stride: the
# student's P3-P6 learn from the teacher's P3-P6 (strides 8..64). Feature
# terms only: logit terms need both heads of one family.
_base_ = [
    '../students/retinanet_r18_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'faster_rcnn/faster_rcnn_r101_fpn_1x_coco/'
    'faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth',
    distill_losses=dict(loss_wkd_f={{_base_.loss_wkd_f}}))
