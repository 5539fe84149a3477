"""Helpers shared by the tests: MMDetection's installed tools and options
that point a digits config at a generated dataset.

Import them in a test module with ``from utils import run_tool`` (pytest puts
``tests/`` on ``sys.path``; keep ``tests/`` free of ``__init__.py``).
"""
import contextlib
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
from typing import Iterator, List, Optional

import mmdet

from wkd_det.runs import pretrained_options

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')


def mmdet_tool(name: str) -> str:
    """Path of an installed MMDetection tool, e.g. ``mmdet_tool('train')``."""
    path = osp.join(MMDET_TOOLS, f'{name}.py')
    assert osp.isfile(path), f'MMDetection tool not installed: {path}'
    return path


@contextlib.contextmanager
def scratch_dir(tmp_path_factory, name: str) -> Iterator:
    """``with scratch_dir(tmp_path_factory, name) as root``: a fresh
    ``pathlib.Path`` under pytest's base temp, removed on exit.

    For module-scoped fixtures that write checkpoints (50-500 MB each):
    ``mktemp`` dirs otherwise stay until the session ends, and together
    they filled a CI machine's disk.
    """
    root = tmp_path_factory.mktemp(name)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_tool(script: str,
             *args: str,
             env: Optional[dict] = None,
             timeout: float = 900,
             cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run ``python script *args`` in a subprocess and check it succeeds.

    Args:
        script (str): path of the script (see :func:`mmdet_tool`).
        *args (str): its command-line arguments.
        env (dict, optional): extra environment variables.
        timeout (float): seconds before the run is killed.
        cwd (str, optional): working directory; by default a temporary
            one, removed afterwards, so relative outputs (``work_dirs/``)
            never land in the repository: pass ``--work-dir`` to keep them.

    Returns:
        subprocess.CompletedProcess: with text ``stdout`` and ``stderr``.

    Raises:
        AssertionError: non-zero exit, with the last 3000 characters of
            stdout and stderr.
    """
    full_env = dict(os.environ, **(env or {}))
    full_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, full_env.get('PYTHONPATH')) if p)
    with tempfile.TemporaryDirectory(prefix='wkd_det_tool_') as tmp_dir:
        proc = subprocess.run([sys.executable, script, *map(str, args)],
                              cwd=cwd or tmp_dir,
                              env=full_env,
                              capture_output=True,
                              text=True,
                              timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f'{osp.basename(script)} {" ".join(map(str, args))} exited with '
            f'{proc.returncode}\n--- stdout (tail) ---\n'
            f'{proc.stdout[-3000:]}\n--- stderr (tail) ---\n'
            f'{proc.stderr[-3000:]}')
    return proc


def digits_cfg_options(data_root: str,
                       batch_size: int = 2,
                       num_train_images: Optional[int] = None,
                       config: Optional[str] = None) -> List[str]:
    """``--cfg-options`` values that point a digits config at ``data_root``.

    Sets every dataloader's ``data_root``, the evaluators' ``ann_file`` and
    single-process loading (``num_workers=0``). Append it after
    ``'--cfg-options'``; more ``key=value`` items can follow.

    Args:
        data_root (str): root made by ``make_digits_coco``.
        batch_size (int): train batch size. Defaults to 2.
        num_train_images (int, optional): train on the first N images only.
        config (str, optional): the config trained: its backbone loads from
            ``<data_root>/pretrained/`` (the ``tiny_digits`` fixture's).
    """
    root = osp.join(str(data_root), '')
    ann_file = osp.join(root, 'annotations', 'val.json')
    opts = [f'train_dataloader.batch_size={batch_size}']
    for loader in ('train', 'val', 'test'):
        opts += [
            f'{loader}_dataloader.dataset.data_root={root}',
            f'{loader}_dataloader.num_workers=0',
            f'{loader}_dataloader.persistent_workers=False'
        ]
    opts += [
        f'val_evaluator.ann_file={ann_file}',
        f'test_evaluator.ann_file={ann_file}'
    ]
    if num_train_images is not None:
        opts.append(f'train_dataloader.dataset.indices={num_train_images}')
    if config is not None:
        opts += pretrained_options(config, str(data_root))
    return opts
