"""Shared test fixtures.

Fixtures:
    tiny_digits: session-scoped ``pathlib.Path`` of a tiny digits dataset
        (8 train, 4 val images of 192 px, seed 0) made once per session by
        ``wkd_det.datasets.make_digits_coco``; holds ``annotations/train.json``,
        ``annotations/val.json``, ``train/``, ``val/`` and the backbones the
        digits configs start from, pretrained one epoch on its crops
        (``pretrained/resnet18.pth``, ``resnet50.pth``; tools reuse them
        with ``--pretrain-epochs 1``).

Helpers (plain functions in ``tests/utils.py``; ``from utils import ...``):
    mmdet_tool(name) -> str: path of MMDetection's installed
        ``<site-packages>/mmdet/.mim/tools/<name>.py`` ('train', 'test').
    run_tool(script, *args, env=None, timeout=900, cwd=None)
        -> subprocess.CompletedProcess: runs the script with
        ``sys.executable`` (cwd a fresh tmp dir, repo root on PYTHONPATH);
        raises AssertionError with the output's tail if it fails.
    scratch_dir(tmp_path_factory, name): context manager giving a fresh
        directory removed on exit, for module fixtures that write
        checkpoints (``with scratch_dir(...) as root: yield ...``).
    digits_cfg_options(data_root, batch_size=2, num_train_images=None,
        config=None) -> list[str]: ``--cfg-options`` items that point a
        digits config at ``data_root`` (all dataloaders, evaluators,
        num_workers=0; with ``config``, its pretrained backbone too).
    REPO_ROOT, CONFIG_DIR: absolute paths of the repository and its configs.
"""
import pytest

from wkd_det.datasets import make_digits_coco
from wkd_det.pretraining import ensure_pretrained

TINY_DIGITS = {'num_train': 8, 'num_val': 4, 'image_size': 192, 'seed': 0}


@pytest.fixture(scope='session')
def tiny_digits(tmp_path_factory):
    """Root of the tiny digits dataset, generated once per session."""
    root = tmp_path_factory.mktemp('tiny_digits')
    make_digits_coco(str(root), **TINY_DIGITS)
    for arch in ('resnet18', 'resnet50'):
        ensure_pretrained(arch, str(root), epochs=1, log=lambda m: None)
    return root
