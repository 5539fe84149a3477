# WKD-L + WKD-F: ATSS R101-FPN (teacher, MMDetection model zoo, 41.5 bbox
# mAP) -> R18-FPN (student), 1x schedule on COCO. Logits are per anchor
# (one per position); targets are the student's ATSS assignment.
_base_ = [
    '../students/atss_r18_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::atss/atss_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'atss/atss_r101_fpn_1x_coco/atss_r101_fpn_1x_20200825-dfcadd6f.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l_dense}},
        loss_wkd_f={{_base_.loss_wkd_f}}))
