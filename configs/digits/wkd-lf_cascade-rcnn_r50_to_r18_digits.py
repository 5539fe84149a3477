# WKD-L + WKD-F: Cascade R-CNN R50-FPN (teacher) -> R18-FPN (student) on the
# digits set; WKD-L on every stage's RoIs (the teacher's stage s classifies
# the student's stage-s RoIs), summed with the cascade's stage loss weights.
# Train the teacher first:
#   python tools/train.py configs/digits/cascade-rcnn_r50_fpn_digits.py
# or point model.teacher_ckpt at its checkpoint with --cfg-options.
_base_ = [
    './cascade-rcnn_r18_fpn_digits.py',
    '../_base_/distillation/wkd-lf_digits.py'
]

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='{{ fileDirname }}/cascade-rcnn_r50_fpn_digits.py',
    teacher_ckpt='work_dirs/cascade-rcnn_r50_fpn_digits/epoch_6.pth',
    distill_losses=dict(
        loss_wkd_l={{_base_.loss_wkd_l}}, loss_wkd_f={{_base_.loss_wkd_f}}))
