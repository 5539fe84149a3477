# WKD-L + WKD-F: RetinaNet R101-FPN (teacher, MMDetection model zoo, 38.5
# bbox mAP) -> R18-FPN (student), 1x schedule on COCO. Logits are per
# anchor: 80 sigmoid logits plus a zero background logit.
_base_ = [
    '../students/retinanet_r18_fpn_1x_coco.py',
    '../_base_/distillation/wkd-lf_1x_coco.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::retinanet/retinanet_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'retinanet/retinanet_r101_fpn_1x_coco/'
    'retinanet_r101_fpn_1x_coco_20200130-7a93545f.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l_retinanet_with_f}},
        loss_wkd_f={{_base_.loss_wkd_f_retinanet_with_l}}))
