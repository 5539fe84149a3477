"""Train a detector or a distiller: MMDetection's train tool with wkd_det
registered; same arguments (``python tools/train.py CONFIG [--resume] ...``)."""
from wkd_det.engine import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('train.py')
