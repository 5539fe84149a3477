# PKD baseline loss on the FPN maps WKD-F uses (METHODS section 4): MSE of
# per-image, per-channel standardised maps (wkd_det.functional.pkd_loss).
loss_pkd = dict(
    type='PKDLoss',
    eps=1e-6,  # in sqrt(var + eps); MMRazor divides by std + 1e-6
    # MMRazor pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py: weight 6 on
    # each of FPN levels 0-3, summed, on MSE / 2 (RetinaNet X101->R50: 10).
    # Per level that is 3 x our MSE; the distiller averages our 5 levels,
    # so 5 x 3 = 15 gives every level MMRazor's weight.
    loss_weight=15.0,
    levels=None,  # every FPN level (MMRazor: P2-P5 of Faster R-CNN)
    # PKD as published has no adaptation layer: the standardised maps are
    # compared directly. Student and teacher FPN maps have 256 channels in
    # every shipped pair (R18, MobileNetV2 and R50/R101 necks alike), so the
    # identity is the faithful choice; use 'conv' for a pair whose necks
    # differ.
    projector='identity')
