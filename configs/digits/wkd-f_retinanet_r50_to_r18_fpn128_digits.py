# WKD-F only: RetinaNet R50-FPN128 -> R18-FPN128 on the digits set (the
# WKD-L+F config without its logit term, WKD-F at its own weight).
_base_ = './wkd-lf_retinanet_r50_to_r18_fpn128_digits.py'

model = dict(
    distill_losses=dict(loss_wkd_l=None, loss_wkd_f={{_base_.loss_wkd_f_retinanet}}))
