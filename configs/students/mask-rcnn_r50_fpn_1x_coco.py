# Mask R-CNN R50-FPN, 1x schedule on COCO: the student of the Mask R-CNN
# R101 -> R50 pair, MMDetection's own R50 config.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

# torchvision's ResNet50_Weights.IMAGENET1K_V1 (what the base config's
# 'torchvision://resnet50' resolves to), by its URL: no torchvision
model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='https://download.pytorch.org/models/'
            'resnet50-0676ba61.pth')))
