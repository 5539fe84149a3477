# WKD-L + WKD-F: RetinaNet R50-FPN (teacher) -> R18-FPN (student) on the
# digits set. Train the teacher first:
#   python tools/train.py configs/digits/retinanet_r50_fpn_digits.py
# or point model.teacher_ckpt at its checkpoint with --cfg-options.
_base_ = [
    './retinanet_r18_fpn_digits.py',
    '../_base_/distillation/wkd-lf_digits.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='{{ fileDirname }}/retinanet_r50_fpn_digits.py',
    teacher_ckpt='work_dirs/retinanet_r50_fpn_digits/epoch_6.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l_retinanet_with_f}},
        loss_wkd_f={{_base_.loss_wkd_f_retinanet_with_l}}))
