# WKD-F only: RetinaNet R101-FPN -> R18-FPN, 1x COCO (the WKD-L+F config
# without its logit term).
_base_ = './wkd-lf_retinanet_r101_to_r18_fpn_1x_coco.py'

# WKD-F alone at its own weight
model = dict(
    distill_losses=dict(loss_wkd_l=None, loss_wkd_f={{_base_.loss_wkd_f_retinanet}}))
