# WKD-L + WKD-F: Cascade R-CNN R101-FPN (teacher, MMDetection model zoo,
# 42.0 bbox mAP) -> R18-FPN (student), 1x schedule on COCO. WKD-L on every
# stage: the teacher's stage s classifies the student's stage-s RoIs, with
# the stage's labels; the stages are summed into one loss_wkd_l with the
# cascade's stage_loss_weights (1, 0.5, 0.25).
_base_ = [
    '../students/cascade-rcnn_r18_fpn_1x_coco.py',
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
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l}}, loss_wkd_f={{_base_.loss_wkd_f}}))
