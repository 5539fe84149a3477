# RTMDet-s, 300 epochs on COCO: the student of the RTMDet-l -> RTMDet-s
# pair, MMDetection's own config (its CSPNeXt-s ImageNet checkpoint, EMA
# and pipeline switch at epoch 280).
_base_ = 'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)
