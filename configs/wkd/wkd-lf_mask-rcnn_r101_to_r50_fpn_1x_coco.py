# WKD-L + WKD-F: Mask R-CNN R101-FPN (teacher, MMDetection model zoo, 40.0
# bbox / 36.1 mask mAP) -> R50-FPN (student), 1x schedule on COCO. WKD-L on
# the bbox branch's RoI logits (the teacher classifies the student's sampled
# RoIs); the mask head learns from its own loss only.
_base_ = [
    '../students/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'mask_rcnn/mask_rcnn_r101_fpn_1x_coco/'
    'mask_rcnn_r101_fpn_1x_coco_20200204-1efe0ed5.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l}}, loss_wkd_f={{_base_.loss_wkd_f}}))
