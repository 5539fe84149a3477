# WKD-L only: Mask R-CNN R101-FPN -> R50-FPN, 1x COCO (the WKD-L+F config
# without its feature term).
_base_ = './wkd-lf_mask-rcnn_r101_to_r50_fpn_1x_coco.py'

model = dict(distill_losses=dict(loss_wkd_f=None))
