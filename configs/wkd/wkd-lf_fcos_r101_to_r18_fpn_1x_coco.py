# WKD-L + WKD-F: FCOS R101-FPN (teacher, MMDetection model zoo, 39.1 bbox
# mAP; its caffe-style input is converted from the student's batch by the
# distiller) -> R18-FPN (student), 1x schedule on COCO. Logits are per
# point: 80 sigmoid logits; centerness stays the student's own loss.
_base_ = [
    '../students/fcos_r18_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::fcos/fcos_r101-caffe_fpn_gn-head-1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'fcos/fcos_r101_caffe_fpn_gn-head_1x_coco/'
    'fcos_r101_caffe_fpn_gn-head_1x_coco-0e37b982.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l_dense}},
        loss_wkd_f={{_base_.loss_wkd_f}}))
