# Cascade R-CNN R18-FPN on the digits set with a 128-channel FPN and heads:
# the teacher config cascade-rcnn_r50_fpn128_digits.py with the
# crop-pretrained ResNet-18.
_base_ = './cascade-rcnn_r50_fpn128_digits.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(checkpoint='data/digits/pretrained/resnet18.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
