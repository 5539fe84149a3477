# WKD-L + WKD-F losses and hooks of the COCO 1x distillation configs. A
# distillation config names them in its model:
#   distill_losses=dict(loss_wkd_l={{_base_.loss_wkd_l}},
#                       loss_wkd_f={{_base_.loss_wkd_f}})
loss_wkd_l = dict(
    type='WKDLLoss',
    tau=2.0,  # temperature, METHODS range [2, 8]
    eps=0.05,  # Sinkhorn regularisation, the paper's default
    iters=10,  # Sinkhorn iterations, the paper's default
    target_weight=1.0,  # w_t of the target-class term
    wd_weight=20.0,  # lambda, METHODS range 10..600: WD ~0.05/RoI -> ~loss_cls
    cost='fc')  # teacher classifier interrelation, no data pass
loss_wkd_f = dict(
    type='WKDFLoss',
    grid=4,  # G x G Gaussian cells per map, METHODS: 1 or 4
    gamma=2.0,  # mean-term weight, METHODS range 2..8
    loss_weight=1e-3,  # w_f: raw W2 of 256-ch FPN maps is ~1e3
    levels=None,  # every FPN level
    projector='conv')  # learnable 1x1 conv student -> teacher

custom_hooks = [
    # cosine decay of lambda and w_f from epoch 8 (first LR step) to 12
    dict(type='DistillLossWeightHook', schedule='cosine', start=8),
    dict(type='DistillerCheckpointHook'),
    # dataset classes vs the teacher checkpoint's and the cost file's
    dict(type='DistillClassCheckHook'),
]
