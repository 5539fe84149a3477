# WKD-L + WKD-F: GFL R101-FPN (teacher, MMDetection model zoo, multi-scale
# 2x, 44.7 bbox mAP) -> R18-FPN (student), 1x schedule on COCO. Logits are
# the joint class-quality scores per anchor; targets are the student's
# class assignment (its IoU quality targets are not used).
_base_ = [
    '../students/gfl_r18_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'gfl/gfl_r101_fpn_mstrain_2x_coco/'
    'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l_dense}},
        loss_wkd_f={{_base_.loss_wkd_f}}))
