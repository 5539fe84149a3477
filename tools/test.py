"""Test a checkpoint: MMDetection's test tool with wkd_det registered; same
arguments (``python tools/test.py CONFIG CHECKPOINT ...``)."""
from wkd_det.engine import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('test.py')
