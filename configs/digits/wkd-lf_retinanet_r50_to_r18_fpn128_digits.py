# WKD-L + WKD-F: RetinaNet R50-FPN128 (teacher) -> R18-FPN128 (student) on
# the digits set; terms and schedule as in
# wkd-lf_retinanet_r50_to_r18_digits.py. Train the teacher first:
#   python tools/train.py configs/digits/retinanet_r50_fpn128_digits.py
_base_ = [
    './retinanet_r18_fpn128_digits.py',
    '../_base_/distillation/wkd-lf_digits.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='{{ fileDirname }}/retinanet_r50_fpn128_digits.py',
    teacher_ckpt='work_dirs/retinanet_r50_fpn128_digits/epoch_6.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l_retinanet_with_f}},
        loss_wkd_f={{_base_.loss_wkd_f_retinanet_with_l}}))
