# Cascade R-CNN R18-FPN on the digits set (the multi-stage student): the
# teacher config with the crop-pretrained ResNet-18 backbone.
_base_ = './cascade-rcnn_r50_fpn_digits.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(checkpoint='data/digits/pretrained/resnet18.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
