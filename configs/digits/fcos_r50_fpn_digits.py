# FCOS R50-FPN on the digits set (a point-based one-stage teacher): the
# RetinaNet teacher's data, schedule and crop-pretrained ResNet-50 (make it
# with `python tools/pretrain_backbone.py`), with MMDetection's FCOS head
# (GN, center sampling, normalised boxes, centerness on the regression
# branch, GIoU) and regress ranges one octave smaller than COCO's (digits
# are 10-96 px at 192 px), as the RetinaNet anchors are.
_base_ = [
    '../_base_/datasets/digits_detection.py',
    '../_base_/digits_schedule_runtime.py'
]
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)
default_scope = 'mmdet'

model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,  # stem and stage 1 frozen, as MMDetection's 1x
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # BN statistics frozen at the pretrained ones
        style='pytorch',
        # crop-pretrained backbone (tools/pretrain_backbone.py); the tools
        # point it at <data_root>/pretrained/ (wkd_det.runs)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='data/digits/pretrained/resnet50.pth',
            prefix='backbone.')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead',
        num_classes=10,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256),
                        (256, 1e8)),
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
