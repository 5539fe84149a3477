"""MMEngine checkpoints under ``torch.load(weights_only=True)`` (torch >= 2.6).

A 1-iteration Faster R-CNN R18 run with MMDetection's installed train tool
writes a real checkpoint; the installed test tool and ``--resume`` must load
it, a plain ``torch.load`` without ``import wkd_det`` must not, and a crafted
file must be refused without running its payload.
"""
import io
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from packaging.version import Version
from utils import (CONFIG_DIR, digits_cfg_options, mmdet_tool, run_tool,
                   scratch_dir)

from wkd_det.checkpoint import load_checkpoint_safely

CONFIG = osp.join(CONFIG_DIR, 'digits', 'faster-rcnn_r18_fpn_digits.py')
WEIGHTS_ONLY_DEFAULT = Version(torch.__version__.split('+')[0]) >= Version(
    '2.6')


@pytest.fixture(scope='module')
def trained(tiny_digits, tmp_path_factory):
    """Work dir of a one-epoch, one-iteration run (2 images, batch 2)."""
    with scratch_dir(tmp_path_factory, 'ckpt_run') as work_dir:
        run_tool(mmdet_tool('train'), CONFIG, '--work-dir', work_dir,
                 '--cfg-options',
                 *digits_cfg_options(tiny_digits, num_train_images=2,
                                     config=CONFIG),
                 'train_cfg.max_epochs=1')
        assert (work_dir / 'epoch_1.pth').is_file()
        yield work_dir


def _python(code):
    """Run ``python -c code`` in a fresh interpreter."""
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)


def test_load_checkpoint_safely(trained):
    ckpt = load_checkpoint_safely(trained / 'epoch_1.pth')
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 1
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert np.isfinite(buffer.current())


def test_installed_test_tool_loads_checkpoint(trained, tiny_digits):
    proc = run_tool(mmdet_tool('test'), CONFIG, trained / 'epoch_1.pth',
                    '--work-dir', trained / 'test', '--cfg-options',
                    *digits_cfg_options(tiny_digits))
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr


def test_resume(trained, tiny_digits, tmp_path):
    proc = run_tool(mmdet_tool('train'), CONFIG, '--work-dir', tmp_path,
                    '--resume', trained / 'epoch_1.pth', '--cfg-options',
                    *digits_cfg_options(tiny_digits, num_train_images=2,
                                        config=CONFIG),
                    'train_cfg.max_epochs=3')
    assert 'resumed epoch: 1, iter: 1' in proc.stdout + proc.stderr
    # Saved after epoch 2's validation, so it also holds val scalars.
    ckpt = load_checkpoint_safely(tmp_path / 'epoch_3.pth')
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 3
    assert 'val/coco/bbox_mAP' in ckpt['message_hub']['log_scalars']


@pytest.mark.skipif(not WEIGHTS_ONLY_DEFAULT,
                    reason='torch < 2.6 loads with weights_only=False')
def test_plain_load_needs_wkd_det(trained):
    path = str(trained / 'epoch_1.pth')
    plain = _python(f'import torch; torch.load({path!r})')
    assert plain.returncode != 0
    assert 'Unsupported global' in plain.stderr, plain.stderr[-3000:]
    fixed = _python(f'import torch, wkd_det; torch.load({path!r})')
    assert fixed.returncode == 0, fixed.stderr[-3000:]


def _write_marker(path):
    with open(path, 'w') as f:
        f.write('payload ran')


class _Payload:
    """Unpickling this runs ``_write_marker(marker)``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return _write_marker, (self.marker, )


class _HistoryBufferInit:
    """Unpickling this asks for ``getattr(HistoryBuffer, '__init__')``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_crafted_checkpoint_is_refused(tmp_path):
    marker = tmp_path / 'marker'
    pickle.loads(pickle.dumps(_Payload(str(marker))))
    assert marker.exists(), 'the payload should run under plain pickle'
    marker.unlink()

    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)},
                'meta': _Payload(str(marker))}, path)
    with pytest.raises(ValueError) as error:
        load_checkpoint_safely(path)
    assert str(path) in str(error.value)
    assert '_write_marker' in str(error.value)
    assert not marker.exists()


def test_only_history_buffer_statistics_via_getattr(tmp_path):
    path = tmp_path / 'crafted.pth'
    torch.save({'meta': _HistoryBufferInit()}, path)
    with pytest.raises(ValueError, match=r'refused getattr\(.*__init__'):
        load_checkpoint_safely(path)


def test_numpy1_names_load(tmp_path):
    """Files written under numpy 1.x name ``numpy.core.multiarray.*``."""
    buf = io.BytesIO()
    torch.save({'a': np.arange(3.0), 's': np.float64(2.5)}, buf,
               _use_new_zipfile_serialization=False)
    assert b'numpy._core.multiarray' in buf.getvalue()
    path = tmp_path / 'numpy1.pth'
    path.write_bytes(buf.getvalue().replace(b'numpy._core.multiarray',
                                            b'numpy.core.multiarray'))
    loaded = load_checkpoint_safely(path)
    np.testing.assert_array_equal(loaded['a'], np.arange(3.0))
    assert loaded['s'] == 2.5
