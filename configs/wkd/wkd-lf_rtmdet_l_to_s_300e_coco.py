# WKD-L + WKD-F: RTMDet-l -> RTMDet-s, 300 epochs on COCO (the WKD-L config
# plus the feature term on CSPNeXtPAFPN's three levels, strides 8, 16, 32,
# paired by stride). The student's neck has 128 channels, the teacher's 256:
# a 1x1 conv + BN projector per level maps the student's maps to the
# teacher's width. The WKD-F settings are those of
# ../_base_/distillation/wkd-lf_1x_coco.py, written here for the same reason
# as the WKD-L loss in the _base_ config (RTMDet's own custom_hooks).
_base_ = './wkd-l_rtmdet_l_to_s_300e_coco.py'

model = dict(
    distill_losses=dict(
        loss_wkd_f=dict(
            type='WKDFLoss',
            cell_size=4,
            normalize=True,
            gamma=2.0,
            loss_weight=1.0,
            levels=None,
            projector='conv_bn')))
