# BDD baseline loss on the logits WKD-L uses (METHODS section 3).
loss_bdd = dict(
    type='BDDLoss',
    tau_forward=2.0,  # tau_f = WKD-L's temperature
    tau_reverse=2.0,  # tau_r = tau_f (METHODS default)
    alpha=1.0,  # forward-KL weight (METHODS default)
    beta=1.0,  # reverse-KL weight (METHODS default)
    loss_weight=1.0)  # as KD
