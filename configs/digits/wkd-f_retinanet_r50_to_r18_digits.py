# WKD-F only: RetinaNet R50-FPN -> R18-FPN on the digits set (the WKD-L+F
# config without its logit term).
_base_ = './wkd-lf_retinanet_r50_to_r18_digits.py'

# WKD-F alone at its own weight
model = dict(
    distill_losses=dict(loss_wkd_l=None, loss_wkd_f={{_base_.loss_wkd_f_retinanet}}))
