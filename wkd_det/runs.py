"""Drive MMDetection's train and test tools in subprocesses and read back
what they wrote: used by the demo and the accuracy benchmark.

A run is ``python tools/train.py CONFIG --work-dir DIR --cfg-options ...``
exactly as a user types it; this module only times it, finds its last
checkpoint and its logged scalars, and reads the test tool's COCO metrics.
"""
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from .pretraining import (DEFAULTS, arch_of, ensure_pretrained,
                          pretrained_path, pretraining_record)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS_DIR = osp.join(REPO_ROOT, 'tools')
DIGITS_CONFIGS = osp.join(REPO_ROOT, 'configs', 'digits')


def _pair(family: str, neck: str = 'fpn') -> dict:
    """The config names of ``family``'s pair with neck ``neck``."""
    tag = '' if neck == 'fpn' else f'_{neck}'
    return dict(teacher=f'{family}_r50_{neck}_digits.py',
                student=f'{family}_r18_{neck}_digits.py',
                distill=f'{{method}}_{family}_r50_to_r18{tag}_digits.py')


# the digits pairs of the demo and the accuracy benchmark: an R50-FPN teacher
# and an R18-FPN student of one family; the -fpn128 pairs have a 128-channel
# FPN and heads (about half the step; the two-stage ones, the demo's Faster
# R-CNN among them, at 160 px). Faster R-CNN and RetinaNet have configs for
# every method, the other families for KD, WKD-L, WKD-F and WKD-L+F only
PAIRS = {family: _pair(family)
         for family in ('faster-rcnn', 'retinanet', 'fcos', 'cascade-rcnn')}
PAIRS.update({f'{family}-fpn128': _pair(family, 'fpn128')
              for family in ('faster-rcnn', 'retinanet', 'cascade-rcnn')})


def pair_config(family: str, role: str, method: Optional[str] = None) -> str:
    """Path of the ``role`` ('teacher' | 'student' | 'distill') config of
    ``family``'s digits pair; 'distill' takes the ``method``."""
    return osp.join(DIGITS_CONFIGS,
                    PAIRS[family][role].format(method=method))


# the methods, in table order, and their names in tables
LABELS = {'student': 'student alone', 'kd': 'KD', 'bdd': 'BDD',
          'fitnet': 'FitNet', 'pkd': 'PKD', 'cwd': 'CWD', 'wkd-l': 'WKD-L',
          'wkd-f': 'WKD-F', 'wkd-lf': 'WKD-L+F'}
_METRIC = re.compile(r'coco/(bbox_mAP(?:_50|_75|_s|_m|_l)?):\s*(-?[0-9.]+)')


def digits_data_options(data_root: str) -> List[str]:
    """``--cfg-options`` pointing a ``configs/digits`` config (dataloaders and
    evaluators) at the dataset under ``data_root``."""
    root = data_root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/val.json',
        f'test_evaluator.ann_file={root}annotations/val.json',
    ]


def _pretrained_backbone(config: str) -> Optional[tuple]:
    """``(cfg-options key of the checkpoint, arch)`` of the crop-pretrained
    backbone a digits config trains (the student's, for a distiller), or
    None if its backbone starts from no checkpoint."""
    model = Config.fromfile(config).model
    key = 'model'
    if model.type == 'DetectionDistiller':
        model, key = model.student, 'model.student'
    init = model.backbone.get('init_cfg') or {}
    if init.get('type') != 'Pretrained':
        return None
    return f'{key}.backbone.init_cfg.checkpoint', arch_of(model.backbone)


def pretrained_options(config: str, data_root: str) -> List[str]:
    """``--cfg-options`` that load ``config``'s pretrained backbone from
    ``<data_root>/pretrained/`` (see :func:`ensure_backbones`)."""
    found = _pretrained_backbone(config)
    if found is None:
        return []
    key, arch = found
    return [f'{key}={pretrained_path(data_root, arch)}']


def backbone_archs(configs: Sequence[str]) -> List[str]:
    """The architectures of the pretrained backbones ``configs`` start from,
    sorted."""
    return sorted({found[1] for found in map(_pretrained_backbone, configs)
                   if found})


def ensure_backbones(configs: Sequence[str], data_root: str,
                     log: Callable[[str], None] = print, **settings) -> None:
    """Pretrain, once per architecture, the backbones ``configs`` start from
    on ``data_root``'s train split (cached: see
    :func:`wkd_det.pretraining.ensure_pretrained`)."""
    for arch in backbone_archs(configs):
        ensure_pretrained(arch, data_root, log=log, **settings)


def digits_options(data_root: str, epochs: int,
                   seed: Optional[int] = None) -> List[str]:
    """:func:`digits_data_options` plus ``epochs`` epochs of training (the
    step decay of the digits schedule moved with them: at 5/6 of the
    epochs, as the configs' epoch 5 of 6, so none within 2 epochs),
    validation left to the test tool, and the seed if given."""
    options = digits_data_options(data_root) + [
        'train_dataloader.num_workers=1',
        f'train_cfg.max_epochs={epochs}',
        f'param_scheduler.1.end={epochs}',
        f'param_scheduler.1.milestones=[{max(1, round(epochs * 5 / 6))}]',
        f'train_cfg.val_interval={epochs + 1}',
        'default_hooks.logger.interval=10',
    ]
    return options + ([f'randomness.seed={seed}'] if seed is not None else [])


def run_tool(tool: str, args: Sequence[str], log_file: str,
             env: Optional[dict] = None) -> float:
    """Run ``tools/<tool>.py args``, its output going to ``log_file``.

    Returns the wall time in seconds; raises ``RuntimeError`` with the tail of
    the log if the tool fails.
    """
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    full_env = dict(os.environ, **(env or {}))
    full_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, full_env.get('PYTHONPATH')) if p)
    cmd = [sys.executable, osp.join(TOOLS_DIR, f'{tool}.py'), *map(str, args)]
    start = time.perf_counter()
    with open(log_file, 'w') as log:
        log.write('$ ' + ' '.join(cmd) + '\n')
        log.flush()
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT,
                               env=full_env, cwd=REPO_ROOT)
    elapsed = time.perf_counter() - start
    if code != 0:
        with open(log_file) as log:
            tail = log.read()[-3000:]
        raise RuntimeError(f'{tool}.py failed with exit code {code}; log '
                           f'{log_file}, last lines:\n{tail}')
    return elapsed


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine recorded as the latest in ``work_dir``."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        path = f.read().strip()
    if not osp.isabs(path):
        path = osp.join(REPO_ROOT, path)
    return path


def read_metrics(log_file: str) -> Dict[str, float]:
    """The last COCO bbox metrics (``bbox_mAP``, ``bbox_mAP_50``, ...) that a
    test or validation run printed in ``log_file``."""
    metrics = {}
    with open(log_file) as f:
        for line in f:
            found = dict(_METRIC.findall(line))
            if found:
                metrics = {k: float(v) for k, v in found.items()}
    if not metrics:
        raise RuntimeError(f'no coco/bbox_mAP line in {log_file}')
    return metrics


def read_scalars(work_dir: str) -> List[dict]:
    """Every record of the newest ``vis_data/scalars.json`` in ``work_dir``
    (one per logging interval: ``iter``, ``loss``, ``loss_*``, ``lr``, ...)."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    if not runs:
        raise RuntimeError(f'no vis_data/scalars.json under {work_dir}')
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_checkpoint(config: str, checkpoint: str, work_dir: str,
                    cfg_options: Sequence[str] = (),
                    env: Optional[dict] = None) -> dict:
    """Evaluate ``checkpoint`` with the test tool; ``dict(test_s, metrics)``."""
    test_log = osp.join(work_dir, 'test.log')
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    test_s = run_tool('test', [config, checkpoint, '--work-dir',
                               osp.join(work_dir, 'test'), *options],
                      test_log, env)
    return dict(test_s=test_s, metrics=read_metrics(test_log))


def run_record(config: str, data_root: str, epochs: int,
               extra_options: Sequence[str] = (),
               seed: Optional[int] = None) -> dict:
    """What identifies a :func:`train_and_test` run, as a JSON-able dict:

    - ``config``: the config's file name, and ``config_digest``: the SHA-1 of
      the config as resolved from its file (``_base_`` included; paths into
      the repository, e.g. a distiller's teacher config, taken relative to
      it, so that a clone elsewhere records the same run), so a changed
      default (e.g. the learning rate) makes another run;
    - ``backbone``: the settings of the pretrained backbone it loads, from
      the record beside the checkpoint (None when it loads none, or before
      it is pretrained);
    - ``options``: every ``--cfg-options`` it gives the train tool (data
      root, schedule, seed, backbone checkpoint, then ``extra_options``).
    """
    resolved = json.dumps(Config.fromfile(config).to_dict(), sort_keys=True,
                          default=str).replace(REPO_ROOT + os.sep, '')
    backbone = None
    found = _pretrained_backbone(config)
    if found is not None:
        record = pretraining_record(pretrained_path(data_root, found[1]))
        if record is not None:
            backbone = {k: record.get(k) for k in ('arch', *DEFAULTS)}
    return dict(config=osp.basename(config),
                config_digest=hashlib.sha1(resolved.encode()).hexdigest(),
                backbone=backbone,
                options=[*digits_options(data_root, epochs, seed),
                         *pretrained_options(config, data_root),
                         *extra_options])


def recorded_run(work_dir: str) -> Optional[dict]:
    """The run recorded in ``work_dir/run.json`` (:func:`check_same_run`), or
    None when there is no record."""
    record = osp.join(work_dir, 'run.json')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        return json.load(f)


def run_difference(saved: Optional[dict], run: dict) -> str:
    """How the recorded run ``saved`` (None: no record) differs from ``run``,
    for an error message: the fields that differ, and of the options those
    only one of them has."""
    if saved is None:
        return 'no run recorded there'
    if saved == run:
        return 'the same run'
    parts = [f'{key} {saved.get(key)!r}, not {run.get(key)!r}'
             for key in sorted(set(saved) | set(run))
             if key != 'options' and saved.get(key) != run.get(key)]
    recorded = saved.get('options', [])
    only_saved = [o for o in recorded if o not in run.get('options', [])]
    only_run = [o for o in run.get('options', []) if o not in recorded]
    if only_saved or only_run:
        parts.append(f'recorded {only_saved} where this run has {only_run}')
    return '; '.join(parts) or 'the same options in another order'


def check_same_run(work_dir: str, run: dict, resuming: bool) -> None:
    """Record ``run`` (:func:`run_record`) in ``work_dir/run.json``, or, when
    ``resuming`` (or reusing) the training found there, check that it is the
    same run.

    Raises ``RuntimeError`` when the checkpoints in ``work_dir`` belong to
    another run (other options, e.g. a changed default passed as an option,
    or no record), so that a renamed or re-defaulted run is never resumed
    and reported under the new name.
    """
    if resuming:
        saved = recorded_run(work_dir)
        if saved != run:
            raise RuntimeError(
                f'{work_dir} is another run ({run_difference(saved, run)}):'
                ' move it away or delete it to train this run from the start')
        return
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'run.json'), 'w') as f:
        json.dump(run, f, indent=1)


def train_and_test(config: str, work_dir: str, data_root: str, epochs: int,
                   extra_options: Sequence[str] = (),
                   seed: Optional[int] = None,
                   test_config: Optional[str] = None,
                   env: Optional[dict] = None) -> dict:
    """Train ``config`` for ``epochs`` on the digits data under ``data_root``
    into ``work_dir`` (its backbone from ``<data_root>/pretrained/``, which
    :func:`ensure_backbones` fills), then test its last checkpoint on the
    same data with ``test_config`` (default: the same config). ``env``:
    extra environment variables of both tools (e.g. ``OMP_NUM_THREADS``).

    A training that was interrupted (``work_dir`` holds a checkpoint) is
    resumed from its last epoch with ``--resume`` if it is the same run
    (:func:`check_same_run`); ``train_s`` then counts the resumed part only.

    Returns ``dict(run, train_s, s_per_iter, resumed, test_s, checkpoint,
    metrics)``; ``run`` is the run's record (:func:`run_record`, as in
    ``work_dir/run.json``), ``s_per_iter`` the mean iteration time the
    logger recorded.
    """
    run = run_record(config, data_root, epochs, extra_options, seed)
    resumed = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    check_same_run(work_dir, run, resumed)
    train_s = run_tool('train', [
        config, '--work-dir', work_dir, *(['--resume'] if resumed else []),
        '--cfg-options', *run['options']
    ], osp.join(work_dir, 'train.log'), env)
    checkpoint = last_checkpoint(work_dir)
    times = [r['time'] for r in read_scalars(work_dir) if 'time' in r]
    return dict(run=run, train_s=train_s,
                s_per_iter=sum(times) / len(times) if times else None,
                resumed=resumed, checkpoint=checkpoint,
                **test_checkpoint(test_config or config, checkpoint, work_dir,
                                  digits_data_options(data_root), env))
