# FitNet baseline: RetinaNet R101-FPN -> R18-FPN, 1x COCO,
# on the same projected FPN maps as WKD-F.
# Teacher and loss-weight schedule: those of the _base_ config.
_base_ = '../wkd/wkd-lf_retinanet_r101_to_r18_fpn_1x_coco.py'

model = dict(
    distill_losses=dict(
        _delete_=True,
        loss_fitnet=dict(
            type='FitNetLoss',
            loss_weight=1.0,  # MSE per element of the FPN maps
            levels=None,  # all five FPN levels, as WKD-F
            projector='conv')))  # learnable 1x1 conv student -> teacher
