# WKD-L + WKD-F: Faster R-CNN R101-FPN (teacher, MMDetection model zoo, 39.4
# bbox mAP) -> R18-FPN (student), 1x schedule on COCO. Change the teacher
# weights with --cfg-options model.teacher_ckpt=PATH.
_base_ = [
    '../students/faster-rcnn_r18_fpn_1x_coco.py',
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
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l}}, loss_wkd_f={{_base_.loss_wkd_f}}))
