# CWD baseline loss on the FPN maps WKD-F uses (METHODS section 4): per-channel
# spatial softmax, tau^2 * KL(teacher || student)
# (wkd_det.functional.cwd_loss).
loss_cwd = dict(
    type='CWDLoss',
    # tau=1 in MMRazor cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py, its RetinaNet
    # variant and the authors' RetinaNet config (pppppM/mmdetection-distiller)
    tau=1.0,
    # same MMRazor config: weight 10 on each of the 5 FPN levels, summed, on
    # the same per-level value (KL summed over positions, / (N * C)); the
    # distiller averages the levels, so 5 x 10 gives every level that weight
    # (the authors' RetinaNet config: 5 on each of P3-P6)
    loss_weight=50.0,
    levels=None,  # every FPN level, as MMRazor
    # CWD as published has no adaptation layer when channel counts agree
    # (the authors' code adds a 1x1 conv only when they differ). Student and
    # teacher FPN maps have 256 channels in every shipped pair (R18,
    # MobileNetV2 and R50/R101 necks alike), so the identity is the faithful
    # choice; use 'conv' for a pair whose necks differ.
    projector='identity')
