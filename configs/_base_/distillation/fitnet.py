# FitNet baseline loss on the projected FPN maps WKD-F uses (METHODS 4).
loss_fitnet = dict(
    type='FitNetLoss',
    loss_weight=1.0,  # MSE per element of the FPN maps, ~loss_cls scale
    levels=None,  # every FPN level, as WKD-F
    projector='conv')  # learnable 1x1 conv student -> teacher
