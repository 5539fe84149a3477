# FCOS R18-FPN, 1x schedule on COCO: the student of the FCOS R101 -> R18
# pair. MMDetection's FCOS (GN head) with an ImageNet-pretrained
# pytorch-style ResNet-18, normalised as torchvision's weights expect; the
# distiller converts the teacher's input to its caffe normalisation.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        depth=18,
        norm_cfg=dict(type='BN', requires_grad=True),
        style='pytorch',
        # torchvision's ResNet18_Weights.IMAGENET1K_V1, by its URL
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet18-f37072fd.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
