"""Training machinery: distillation hooks (registered in MMDetection's
``HOOKS``), CPU mixed precision and the runner of MMDetection's tool scripts."""
from .amp import CPUAmpOptimWrapper
from .checkpoint_hook import DistillerCheckpointHook
from .class_check_hook import DistillClassCheckHook
from .loss_weight_hook import DistillLossWeightHook
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool

__all__ = ['CPUAmpOptimWrapper', 'DistillClassCheckHook',
           'DistillerCheckpointHook', 'DistillLossWeightHook',
           'mmdet_tool_path', 'run_mmdet_tool']
