# Faster R-CNN R50-FPN on the digits set with a 128-channel FPN and heads:
# the demo's teacher (tools/demo.py). At 256 channels the FPN's 3x3 convs and
# the RPN conv on P2 (48 x 48) outweigh the backbone; at 128 a training step
# takes about half the time (batch 4, median of 10 steps, idle: the R18
# student at one thread 2.57 s -> 1.22 s, the R50 teacher at two 2.10 s ->
# 1.27 s; docs/results.md). RoIAlign takes 2 x 2 samples per bin instead of
# MMDetection's adaptive count (up to 4 x 4 for a large digit on P2, where
# every digit RoI lands): its CPU forward and backward were 0.32 s of the
# 1.16 s 128-channel step in a profile.
_base_ = './faster-rcnn_r50_fpn_digits.py'

model = dict(
    neck=dict(out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2), out_channels=128),
        bbox_head=dict(in_channels=128)))
