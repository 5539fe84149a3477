"""Two-process CPU distillation through tools/dist_train.sh (torchrun,
gloo, ``--launcher pytorch``)."""
import os
import os.path as osp
import socket
import subprocess
import sys

import torch
from mmdet.registry import MODELS
from test_distiller import digits_model, random_checkpoint
from utils import CONFIG_DIR, REPO_ROOT, digits_cfg_options

from wkd_det.checkpoint import load_checkpoint_safely


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_process_cpu_training(tiny_digits, tmp_path):
    teacher = random_checkpoint(digits_model('faster-rcnn_r50_fpn_digits'),
                                str(tmp_path / 'teacher.pth'))
    work_dir = str(tmp_path / 'work')
    config = osp.join(CONFIG_DIR, 'digits',
                      'wkd-lf_faster-rcnn_r50_to_r18_digits.py')
    # CPU ranks also where there is a GPU (two ranks would not share one)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, '2',
         '--work-dir', work_dir, '--cfg-options',
         *digits_cfg_options(tiny_digits, 1, 4, config),
         'train_cfg.max_epochs=1',
         'train_cfg.val_interval=99', 'env_cfg.dist_cfg.backend=gloo',
         f'model.teacher_ckpt={teacher}',
         # a learnable projector, whose state the checkpoint must carry
         'model.distill_losses.loss_wkd_f.projector=conv'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Distributed training: True' in proc.stdout + proc.stderr
    checkpoint = load_checkpoint_safely(osp.join(work_dir, 'epoch_1.pth'))
    student = MODELS.build(digits_model('faster-rcnn_r18_fpn_digits'))
    student.load_state_dict(checkpoint['state_dict'], strict=True)
    assert checkpoint['meta']['iter'] == 2  # 4 images, 2 ranks, batch 1
    assert all(torch.isfinite(v).all() for v in checkpoint['state_dict'].values())
    assert checkpoint['wkd_distiller']
