"""Mixed precision on CPU (MMEngine's ``AmpOptimWrapper`` needs a GPU)."""
from contextlib import contextmanager

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from torch import nn


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward passes run under CPU autocast.

    bfloat16 has float32's exponent range, so no loss scaling is needed;
    the distillation losses are computed in float32 anyway. ``tools/
    train.py --amp`` selects this wrapper when there is no CUDA device.

    Args:
        dtype (str): autocast type, ``'bfloat16'`` (CPU autocast's only).
        **kwargs: as for ``OptimWrapper``.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield
