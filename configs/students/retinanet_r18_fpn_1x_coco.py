# RetinaNet R18-FPN, 1x schedule on COCO: the student of the RetinaNet
# R101 -> R18 pair, MMDetection's own R18 config.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

# torchvision's ResNet18_Weights.IMAGENET1K_V1 (what the base config's
# 'torchvision://resnet18' resolves to), by its URL: no torchvision
model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='https://download.pytorch.org/models/'
            'resnet18-f37072fd.pth')))
