# WKD-L + WKD-F: Faster R-CNN R50-FPN128 -> R18-FPN128 on the digits set, the
# demo's distillation (tools/demo.py); terms and schedule as in
# wkd-lf_faster-rcnn_r50_to_r18_digits.py.
_base_ = [
    './faster-rcnn_r18_fpn128_digits.py',
    '../_base_/distillation/wkd-lf_digits.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn128_digits.py',
    teacher_ckpt='work_dirs/faster-rcnn_r50_fpn128_digits/epoch_6.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l}}, loss_wkd_f={{_base_.loss_wkd_f}}))
