# RetinaNet R18-FPN, 1x schedule on COCO: the student of the RetinaNet
# R101 -> R18 pair, MMDetection's own R18 config.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['wkd_det'], allow_failed_imports=False)
