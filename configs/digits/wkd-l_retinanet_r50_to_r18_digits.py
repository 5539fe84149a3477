# WKD-L only: RetinaNet R50-FPN -> R18-FPN on the digits set (the WKD-L+F
# config without its feature term).
_base_ = './wkd-lf_retinanet_r50_to_r18_digits.py'

# WKD-L alone at full weight
model = dict(
    distill_losses=dict(loss_wkd_f=None, loss_wkd_l={{_base_.loss_wkd_l_dense}}))
