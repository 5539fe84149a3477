# Cascade R-CNN R18-FPN, 1x schedule on COCO: the student of the Cascade
# R-CNN R101 -> R18 pair. MMDetection's R50 config with an
# ImageNet-pretrained ResNet-18.
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        # torchvision's ResNet18_Weights.IMAGENET1K_V1 (what
        # 'torchvision://resnet18' resolves to), by its URL: no torchvision
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet18-f37072fd.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
