# WKD-L only: RetinaNet R101-FPN -> R18-FPN, 1x COCO (the WKD-L+F config
# without its feature term).
_base_ = './wkd-lf_retinanet_r101_to_r18_fpn_1x_coco.py'

# WKD-L alone at full weight
model = dict(
    distill_losses=dict(loss_wkd_f=None, loss_wkd_l={{_base_.loss_wkd_l_dense}}))
