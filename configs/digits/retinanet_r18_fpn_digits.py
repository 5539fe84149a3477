# RetinaNet R18-FPN on the digits set (the one-stage student): the teacher
# config with a ResNet-18 backbone.
_base_ = './retinanet_r50_fpn_digits.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=[64, 128, 256, 512]))
