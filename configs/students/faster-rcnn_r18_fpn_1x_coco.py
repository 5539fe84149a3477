# Faster R-CNN R18-FPN, 1x schedule on COCO: the student of the R101 -> R18
# pair. MMDetection's R50 config with an ImageNet-pretrained ResNet-18.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
