# RetinaNet R18-FPN on the digits set with a 128-channel FPN and head: the
# teacher config retinanet_r50_fpn128_digits.py with the crop-pretrained
# ResNet-18.
_base_ = './retinanet_r50_fpn128_digits.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(checkpoint='data/digits/pretrained/resnet18.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
