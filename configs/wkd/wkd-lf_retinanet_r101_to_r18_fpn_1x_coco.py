# WKD-L + WKD-F: RetinaNet R101-FPN (teacher, MMDetection model zoo, 38.5
# bbox mAP) -> R18-FPN (student), 1x schedule on COCO. Logits are per
# anchor: 80 sigmoid logits plus a zero background logit.
_base_ = '../students/retinanet_r18_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='DetectionDistiller',
    student={{_base_.model}},
    teacher_config='mmdet::retinanet/retinanet_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/'
    'retinanet/retinanet_r101_fpn_1x_coco/'
    'retinanet_r101_fpn_1x_coco_20200130-7a93545f.pth',
    distill_losses=dict(
        loss_wkd_l=dict(
            type='WKDLLoss',
            tau=2.0,  # temperature, METHODS range [2, 8]
            eps=0.05,  # Sinkhorn regularisation, the paper's default
            iters=10,  # Sinkhorn iterations, the paper's default
            target_weight=1.0,  # w_t of the target-class term
            wd_weight=20.0,  # lambda, METHODS range 10..600
            cost='fc'),  # teacher classifier interrelation, no data pass
        loss_wkd_f=dict(
            type='WKDFLoss',
            grid=4,  # G x G Gaussian cells per map, METHODS: 1 or 4
            gamma=2.0,  # mean-term weight, METHODS range 2..8
            loss_weight=1e-3,  # w_f: raw W2 of 256-ch FPN maps is ~1e3
            levels=None,  # all five FPN levels
            projector='conv')))  # learnable 1x1 conv student -> teacher

custom_hooks = [
    # cosine decay of lambda and w_f from epoch 8 (first LR step) to 12
    dict(type='DistillLossWeightHook', schedule='cosine', start=8),
    dict(type='DistillerCheckpointHook'),
    # dataset classes vs the teacher checkpoint's and the cost file's
    dict(type='DistillClassCheckHook'),
]
