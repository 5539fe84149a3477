# WKD-L + WKD-F: Cascade R-CNN R50-FPN128 -> R18-FPN128 on the digits set;
# terms, per-stage WKD-L and schedule as in
# wkd-lf_cascade-rcnn_r50_to_r18_digits.py.
_base_ = [
    './cascade-rcnn_r18_fpn128_digits.py',
    '../_base_/distillation/wkd-lf_digits.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='{{ fileDirname }}/cascade-rcnn_r50_fpn128_digits.py',
    teacher_ckpt='work_dirs/cascade-rcnn_r50_fpn128_digits/epoch_6.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l}}, loss_wkd_f={{_base_.loss_wkd_f}}))
