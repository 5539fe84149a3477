# WKD-L only: Cascade R-CNN R50-FPN128 -> R18-FPN128 on the digits set (the
# WKD-L+F config without its feature term).
_base_ = './wkd-lf_cascade-rcnn_r50_to_r18_fpn128_digits.py'

model = dict(distill_losses=dict(loss_wkd_f=None))
