"""Build the frozen teacher detector from an MMDetection config + checkpoint."""
import importlib.util
import os
import os.path as osp
from typing import List, Optional, Tuple, Union

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from torch import nn

from ..checkpoint import load_checkpoint_safely


def load_teacher_config(config: Union[str, dict, Config]) -> Config:
    """A teacher config from a file path, a ``package::`` path (e.g.
    ``'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'``, a file under
    the installed package's ``.mim/configs``), a ``Config`` or a dict
    holding ``model``."""
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return Config(config)
    if '::' in config:
        package, path = config.split('::', 1)
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ValueError(f'teacher_config {config!r}: package '
                             f'{package!r} is not installed')
        config = osp.join(osp.dirname(spec.origin), '.mim', 'configs', path)
    return Config.fromfile(config)


def read_teacher_checkpoint(checkpoint: str) -> Tuple[dict, dict]:
    """``(state_dict, meta)`` of a teacher checkpoint file or http(s) URL
    (downloaded to the torch hub cache), read with ``weights_only=True``
    (:func:`wkd_det.checkpoint.load_checkpoint_safely`). A ``ValueError``
    naming ``teacher_ckpt`` refuses a missing, unreadable or non-checkpoint
    file."""
    where = f'teacher_ckpt {checkpoint}'
    path = checkpoint
    if checkpoint.startswith(('http://', 'https://')):
        path = osp.join(torch.hub.get_dir(), 'checkpoints',
                        osp.basename(checkpoint))
        if not osp.isfile(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
            torch.hub.download_url_to_file(checkpoint, path)
    if not osp.isfile(path):
        raise ValueError(f'{where}: no such file (train the teacher first or '
                         'set model.teacher_ckpt)')
    try:
        data = load_checkpoint_safely(path)
    except ValueError as e:
        raise ValueError(f'teacher_ckpt {e}') from e
    state = data.get('state_dict', data) if isinstance(data, dict) else None
    if not state or not all(isinstance(v, torch.Tensor)
                            for v in state.values()):
        raise ValueError(f'{where}: not a checkpoint; expected a dict of '
                         "tensors or a dict with 'state_dict'")
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    return state, data.get('meta') or {}


def load_teacher_weights(teacher: nn.Module, state: dict, where: str,
                         tolerance: int = 0) -> None:
    """Load ``state`` into ``teacher``; refuse it when more than
    ``tolerance`` weights are missing, unexpected or of another shape."""
    own = teacher.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [k for k in own
                if k in state and state[k].shape != own[k].shape]
    if len(missing) + len(unexpected) + len(reshaped) > tolerance:
        raise ValueError(
            f'{where}: does not match teacher_config: {len(missing)} missing, '
            f'{len(unexpected)} unexpected, {len(reshaped)} reshaped keys '
            f'(teacher_key_tolerance={tolerance}); e.g. missing '
            f'{missing[:3]}, unexpected {unexpected[:3]}, reshaped '
            f'{reshaped[:3]}')
    teacher.load_state_dict(
        {k: v for k, v in state.items() if k in own and k not in reshaped},
        strict=False)


def build_teacher(config: Union[str, dict, Config], checkpoint: str,
                  key_tolerance: int = 0) -> Tuple[nn.Module,
                                                   Optional[List[str]]]:
    """The teacher detector (built, loaded, frozen, in eval mode) and the
    class names its checkpoint was trained on (``meta['dataset_meta']
    ['classes']``, ``None`` when absent).

    Args:
        config: teacher config (see :func:`load_teacher_config`).
        checkpoint: path or URL of its weights (see
            :func:`read_teacher_checkpoint`).
        key_tolerance (int): how many missing, unexpected or reshaped
            weights are accepted (see :func:`load_teacher_weights`).
    """
    teacher = MODELS.build(load_teacher_config(config)['model'])
    state, meta = read_teacher_checkpoint(checkpoint)
    load_teacher_weights(teacher, state, f'teacher_ckpt {checkpoint}',
                         key_tolerance)
    teacher.requires_grad_(False)
    classes = (meta.get('dataset_meta') or {}).get('classes')
    return teacher.eval(), list(classes) if classes is not None else None
