# WKD-L only: Cascade R-CNN R101-FPN -> R18-FPN, 1x COCO (the WKD-L+F config
# without its feature term).
_base_ = './wkd-lf_cascade-rcnn_r101_to_r18_fpn_1x_coco.py'

model = dict(distill_losses=dict(loss_wkd_f=None))
