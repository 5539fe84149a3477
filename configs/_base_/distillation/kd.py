# KD baseline loss on the logits WKD-L uses (METHODS section 4).
loss_kd = dict(
    type='KDLoss',
    tau=2.0,  # WKD-L's temperature, for a like-for-like comparison
    loss_weight=1.0)  # tau^2-scaled KL is on the scale of loss_cls
