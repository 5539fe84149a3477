# Faster R-CNN MobileNetV2-FPN, 1x schedule on COCO: the student of the
# R50 -> MobileNetV2 pair. MMDetection's R50 config with an ImageNet-
# pretrained MobileNetV2 whose outputs at strides 4, 8, 16 and 32 feed FPN.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(1, 2, 4, 7),  # 24, 32, 96, 1280 channels
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # frozen BN statistics, as the ResNets in 1x
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
