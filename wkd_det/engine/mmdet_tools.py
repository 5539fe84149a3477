"""Run MMDetection's installed tool scripts with wkd_det registered."""
import argparse
import os.path as osp
import runpy
import sys
from typing import List

import mmdet
import torch
import torch.distributed as dist


def mmdet_tool_path(name: str) -> str:
    """Path of an installed MMDetection tool, e.g. ``'train.py'``."""
    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', name)


def run_mmdet_tool(name: str) -> None:
    """Run MMDetection's ``tools/<name>`` as ``__main__`` with this process's
    command-line arguments (``import wkd_det`` has registered our modules).

    Without CUDA, ``--launcher pytorch`` (under torchrun) also works on CPU:
    MMEngine's launcher calls ``torch.cuda.set_device`` and gives DDP a
    device id, so the gloo process group is started here (MMEngine then
    uses it) and ``model_wrapper_cfg.device_ids=None`` is appended to the
    ``--cfg-options``. Without CUDA, ``--amp`` (MMEngine's
    ``AmpOptimWrapper``, GPU only) becomes
    ``optim_wrapper.type=CPUAmpOptimWrapper`` (bfloat16 autocast).
    """
    script = mmdet_tool_path(name)
    argv = sys.argv[1:]
    if _launched_without_cuda(argv):
        dist.init_process_group(backend='gloo')
        argv += ['--cfg-options', 'model_wrapper_cfg.device_ids=None']
    if '--amp' in argv and not torch.cuda.is_available():
        argv.remove('--amp')
        argv += ['--cfg-options', 'optim_wrapper.type=CPUAmpOptimWrapper']
    sys.argv = [script, *argv]
    runpy.run_path(script, run_name='__main__')
    if dist.is_initialized():
        # MMEngine leaves the process group up; a rank that exits while
        # another still uses it can abort ("terminate called ...")
        dist.barrier()
        dist.destroy_process_group()


def _launched_without_cuda(argv: List[str]) -> bool:
    """Whether the arguments ask for ``--launcher pytorch`` and there is no
    CUDA device."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--launcher', default='none')
    launcher = parser.parse_known_args(argv)[0].launcher
    return launcher == 'pytorch' and not torch.cuda.is_available()
