"""Accuracy benchmark on the embedded digits set: does distillation pay off?

One teacher (trained once, cached); then the student trained alone and
distilled with each method, for each seed, with identical data and
schedule; bbox mAP and mAP50 of every run from the test tool. Results are
kept in ``<work-dir>/results.json`` as they come (a rerun skips finished
runs) and written to ``--out`` as mean +- std over seeds, with the command
and the machine: one section per pair, between ``<!-- benchmark:PAIR -->``
markers, so the rest of the file (hand-written notes) is kept.

Usage:
    python tools/benchmark_accuracy.py [--pair faster-rcnn|retinanet]
        [--methods student kd ... wkd-lf] [--seeds 0 1 2]
        [--teacher-epochs 6 | --teacher-ckpt FILE] [--student-epochs 3]
        [--jobs 2] [--work-dir work_dirs/benchmark_PAIR]
        [--out docs/results.md]
        [--variant NAME KEY=VALUE [KEY=VALUE ...]] ...

``--variant`` (repeatable) trains the distillation methods with config
overrides instead of their defaults (e.g. another lambda, for tuning on the
val split): its runs are kept as ``METHOD@NAME`` beside the defaults and get
their own rows.
"""
import argparse
import json
import os
import os.path as osp
import platform
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from wkd_det.datasets import make_digits_coco  # noqa: E402
from wkd_det.runs import (REPO_ROOT, digits_data_options,  # noqa: E402
                          test_checkpoint, train_and_test)

CONFIGS = osp.join(REPO_ROOT, 'configs', 'digits')
PAIRS = {
    'faster-rcnn': dict(
        teacher='faster-rcnn_r50_fpn_digits.py',
        student='faster-rcnn_r18_fpn_digits.py',
        distill='{method}_faster-rcnn_r50_to_r18_digits.py'),
    'retinanet': dict(
        teacher='retinanet_r50_fpn_digits.py',
        student='retinanet_r18_fpn_digits.py',
        distill='{method}_retinanet_r50_to_r18_digits.py'),
}
METHODS = ('student', 'kd', 'bdd', 'fitnet', 'wkd-l', 'wkd-f', 'wkd-lf')
LABELS = {'student': 'student alone', 'kd': 'KD', 'bdd': 'BDD',
          'fitnet': 'FitNet', 'wkd-l': 'WKD-L', 'wkd-f': 'WKD-F',
          'wkd-lf': 'WKD-L+F'}


def summarise(values):
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def report_section(results, pair, args):
    """The markdown section of one pair: a table of mean +- std per method."""
    teacher = results['teacher']['metrics']
    runs = results['runs']
    base = [r['metrics']['bbox_mAP'] for k, r in runs.items()
            if k.startswith('student/')]
    base_mean = statistics.mean(base) if base else None
    lines = [
        f'<!-- benchmark:{pair} -->',
        f'## {pair}: {PAIRS[pair]["teacher"]} -> {PAIRS[pair]["student"]}',
        '',
        f'Teacher `{PAIRS[pair]["teacher"]}` '
        f"({osp.relpath(results['teacher']['checkpoint'], REPO_ROOT)}): "
        f'bbox mAP {teacher["bbox_mAP"]:.3f}, mAP50 '
        f'{teacher["bbox_mAP_50"]:.3f}. Student `{PAIRS[pair]["student"]}`, '
        f'{args.student_epochs} epochs for every method. Test split: the '
        'generated val split (150 images); mAP from MMDetection\'s test tool.',
        '', '| method | seeds | bbox mAP | mAP50 | mAP - student alone | '
        'train time / run |', '| --- | --- | --- | --- | --- | --- |']
    names = sorted({k.split('/')[0] for k in runs},
                   key=lambda n: (METHODS.index(n.split('@')[0]), n))
    for name in names:
        done = [r for k, r in runs.items() if k.split('/')[0] == name]
        method, _, tag = name.partition('@')
        label = LABELS[method] + (f' @{tag}: `{" ".join(done[0]["options"])}`'
                                  if tag else '')
        m, s = summarise([r['metrics']['bbox_mAP'] for r in done])
        m50, s50 = summarise([r['metrics']['bbox_mAP_50'] for r in done])
        delta = f'{m - base_mean:+.3f}' if base_mean is not None else 'n/a'
        minutes = statistics.mean(r['train_s'] for r in done) / 60
        lines.append(f'| {label} | {len(done)} | {m:.3f} +- {s:.3f} | '
                     f'{m50:.3f} +- {s50:.3f} | {delta} | {minutes:.1f} min |')
    lines += ['', 'Mean +- sample standard deviation over the seeds listed '
              '(0 when one seed). Per-run numbers: '
              f'`{osp.relpath(args.results, REPO_ROOT)}`.', '',
              'Commands (train times are for the runs at a time and threads '
              'each that they name):', '',
              *sorted({f'- `{r.get("command", "not recorded")}`'
                       + (f' ({r["load"]})' if 'load' in r else '')
                       for r in runs.values()}), '',
              f'Machine: {platform.platform()}, {os.cpu_count()} CPU cores, '
              f'Python {platform.python_version()}, torch {torch.__version__}, '
              'no GPU.', f'<!-- /benchmark:{pair} -->']
    return '\n'.join(lines)


def write_report(path, section, pair):
    """Put ``section`` into ``path`` in place of the pair's old section
    (appended if there is none); everything else in the file is kept."""
    text = ''
    if osp.isfile(path):
        with open(path) as f:
            text = f.read()
    block = re.compile(f'<!-- benchmark:{re.escape(pair)} -->.*?'
                       f'<!-- /benchmark:{re.escape(pair)} -->', re.S)
    if block.search(text):
        text = block.sub(lambda _: section, text)
    else:
        text = (text.rstrip('\n') + '\n\n' if text else
                '# Accuracy benchmark on the digits set\n\n') + section + '\n'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pair', choices=sorted(PAIRS), default='faster-rcnn')
    parser.add_argument('--methods', nargs='+', choices=METHODS,
                        default=list(METHODS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--teacher-epochs', type=int, default=6)
    parser.add_argument('--student-epochs', type=int, default=3)
    parser.add_argument('--teacher-ckpt', default=None,
                        help='use this trained teacher (e.g. the demo\'s) '
                        'instead of training one')
    parser.add_argument('--data', default=osp.join(REPO_ROOT, 'data', 'digits'))
    parser.add_argument('--work-dir', default=None,
                        help='default: work_dirs/benchmark_<pair>')
    parser.add_argument('--out', default=osp.join(REPO_ROOT, 'docs',
                                                  'results.md'))
    parser.add_argument('--variant', nargs='+', action='append',
                        metavar=('NAME', 'KEY=VALUE'),
                        help='a named set of config overrides of the '
                        'distillation methods; repeatable')
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings run at once, each with cores/jobs '
                        'threads')
    args = parser.parse_args()
    if any(len(v) < 2 for v in args.variant or []):
        parser.error('--variant takes a name and at least one KEY=VALUE')
    variants = [(v[0], v[1:]) for v in args.variant or []] or [(None, [])]
    if args.variant and 'student' in args.methods:
        parser.error('a --variant applies to distillation methods only')
    args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    env = dict(OMP_NUM_THREADS=str(args.threads))
    command = 'python tools/benchmark_accuracy.py ' + ' '.join(sys.argv[1:])
    load = f'{args.jobs} run(s) at a time, {args.threads} thread(s) each'
    work_dir = osp.abspath(args.work_dir or osp.join(
        REPO_ROOT, 'work_dirs', f'benchmark_{args.pair}'))
    args.results = osp.join(work_dir, 'results.json')
    os.makedirs(work_dir, exist_ok=True)
    results = dict(teacher=None, runs={})
    if osp.isfile(args.results):
        with open(args.results) as f:
            results = json.load(f)
    if not osp.isfile(osp.join(args.data, 'annotations', 'val.json')):
        make_digits_coco(args.data)

    pair = PAIRS[args.pair]
    if results['teacher'] is None and args.teacher_ckpt:
        results['teacher'] = dict(checkpoint=osp.abspath(args.teacher_ckpt),
                                  train_s=None, **test_checkpoint(
                                      osp.join(CONFIGS, pair['teacher']),
                                      args.teacher_ckpt,
                                      osp.join(work_dir, 'teacher'),
                                      digits_data_options(args.data)))
    if results['teacher'] is None:
        print(f'[benchmark] teacher {pair["teacher"]}, {args.teacher_epochs} '
              'epochs', flush=True)
        results['teacher'] = train_and_test(
            osp.join(CONFIGS, pair['teacher']), osp.join(work_dir, 'teacher'),
            args.data, args.teacher_epochs, seed=0)
    teacher_ckpt = results['teacher']['checkpoint']
    student_cfg = osp.join(CONFIGS, pair['student'])
    lock = threading.Lock()

    def save():
        with open(args.results, 'w') as f:
            json.dump(results, f, indent=1)
        write_report(args.out, report_section(results, args.pair, args),
                     args.pair)

    def run_name(method, tag):
        return f'{method}@{tag}' if tag else method

    def run(method, seed, tag, options):
        name = run_name(method, tag)
        key = f'{name}/seed{seed}'
        start = time.perf_counter()
        if method == 'student':
            config, extra = student_cfg, []
        else:
            config = osp.join(CONFIGS, pair['distill'].format(method=method))
            extra = [f'model.teacher_ckpt={teacher_ckpt}', *options]
        print(f'[benchmark] {key}: training', flush=True)
        result = train_and_test(
            config, osp.join(work_dir, name, f'seed{seed}'), args.data,
            args.student_epochs, extra, seed, test_config=student_cfg,
            env=env)
        result.update(command=command, load=load, options=options)
        with lock:
            results['runs'][key] = result
            save()
        print(f'[benchmark] {key}: bbox mAP {result["metrics"]["bbox_mAP"]:.3f}'
              f' ({(time.perf_counter() - start) / 60:.1f} min)', flush=True)

    todo = [(method, seed, tag, options) for seed in args.seeds
            for tag, options in variants for method in args.methods
            if f'{run_name(method, tag)}/seed{seed}' not in results['runs']]
    print(f'[benchmark] {len(todo)} runs to do, {args.jobs} at a time',
          flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for future in [pool.submit(run, *job) for job in todo]:
            future.result()
    save()
    print(f'[benchmark] report: {args.out}')


if __name__ == '__main__':
    main()
