"""Training machinery: distillation hooks (registered in MMDetection's
``HOOKS``) and the runner of MMDetection's tool scripts."""
from .checkpoint_hook import DistillerCheckpointHook
from .loss_weight_hook import DistillLossWeightHook
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool

__all__ = ['DistillerCheckpointHook', 'DistillLossWeightHook',
           'mmdet_tool_path', 'run_mmdet_tool']
