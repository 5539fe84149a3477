# WKD-L: RTMDet-l (teacher, MMDetection model zoo, 51.3 bbox mAP) ->
# RTMDet-s (student), RTMDet's own 300-epoch schedule on COCO. Logits are
# per point (strides 8, 16, 32), targets the student's dynamic soft-label
# assignment (class index; its soft IoU labels only set the divisor).
# The WKD-L loss is loss_wkd_l_dense of
# ../_base_/distillation/wkd-lf_1x_coco.py, written here: that file's
# custom_hooks would clash with RTMDet's (EMA, pipeline switch), which are
# kept below.
_base_ = '../students/rtmdet_s_8xb32-300e_coco.py'

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::rtmdet/rtmdet_l_8xb32-300e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v3.0/'
    'rtmdet/rtmdet_l_8xb32-300e_coco/'
    'rtmdet_l_8xb32-300e_coco_20220719_112030-5a0be7c4.pth',
    distill_losses=dict(
        loss_wkd_l=dict(
            type='WKDLLoss',
            tau=2.0,
            eps=0.05,
            iters=10,
            target_weight=1.0,
            wd_weight=2.0,  # the dense heads' lambda (loss_wkd_l_dense)
            cost='fc')))

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
    dict(
        type='PipelineSwitchHook',
        switch_epoch=280,
        switch_pipeline={{_base_.train_pipeline_stage2}}),
    # cosine decay of lambda from epoch 150, where the LR's cosine starts
    dict(type='DistillLossWeightHook', schedule='cosine', start=150),
    dict(type='DistillerCheckpointHook'),
    dict(type='DistillClassCheckHook'),
]
