"""Accuracy benchmark on the embedded digits set: does distillation pay off?

The regime resembles how detectors are distilled: teacher and students
start from backbones pretrained on the train split's object crops (the
ImageNet stand-in, ``tools/pretrain_backbone.py``, run here when its cache
under ``<data>/pretrained/`` is empty), the teacher is trained once
(cached) to a clear lead, and every student trains the same schedule. For
each seed, the student is trained alone and distilled with each method;
bbox mAP and mAP50 of every run come from the test tool. ``--curve E ...``
trains the student alone at several schedule lengths, the evidence for
choosing ``--student-epochs``. With ``--jobs 2`` or more, the student-alone
runs (curve and table) train beside the teacher, which they do not need.

Results are kept in ``<work-dir>/results.json`` as they come (a rerun skips
finished runs; an interrupted training resumes from its last epoch;
invocations with different runs may share a work dir, each save merges
the others; a work dir holds one regime, the teacher and the student
schedule, and an invocation with another is refused, as is a work dir
whose finished runs are no longer the runs this invocation would train,
e.g. after a changed default: see ``wkd_det.runs.run_record``) and
written to ``--out`` as mean +- std over seeds, with the command and the
machine: one section per pair, between ``<!-- benchmark:PAIR -->``
markers, so the rest of the file (hand-written notes) is kept. Long runs
belong outside the work tree: data and runs default to ``~/wkd_runs/``.

``--record FILE`` keeps a copy of ``results.json`` in FILE, e.g. in the
repository, so that a table outlives its machine: a work dir without
``results.json`` starts from the record (every finished run carries its
run record, so it is checked without its directory), and a lost teacher
checkpoint is trained again, from the same seed, and must reproduce the
recorded teacher's metrics, or the tool stops (the recorded distilled runs
learnt from that teacher). CPU training is not bit for bit the same on
every machine (docs/results.md): ``--teacher-tolerance T`` accepts a
retrained teacher whose metrics are within T of the recorded ones, and the
report then names both teachers.

Usage:
    python tools/benchmark_accuracy.py [--pair faster-rcnn|retinanet]
        [--methods student kd ... wkd-lf] [--seeds 0 1 2]
        [--teacher-epochs 6 | --teacher-ckpt FILE] [--student-epochs 4]
        [--curve 2 3 6] [--jobs 2] [--work-dir ~/wkd_runs/benchmark_PAIR]
        [--data ~/wkd_runs/data/digits] [--pretrain-epochs N]
        [--out docs/results.md] [--record docs/benchmark_runs/PAIR.json]
        [--variant NAME KEY=VALUE [KEY=VALUE ...]] ...

``--variant`` (repeatable) trains the distillation methods with config
overrides instead of their defaults (e.g. another lambda, for tuning on the
val split): its runs are kept as ``METHOD@NAME`` beside the defaults and get
their own rows.
"""
import argparse
import fcntl
import json
import os
import os.path as osp
import platform
import re
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from wkd_det.datasets import make_digits_coco  # noqa: E402
from wkd_det.runs import (LABELS, PAIRS, REPO_ROOT,  # noqa: E402
                          digits_data_options, ensure_backbones, pair_config,
                          recorded_run, run_difference, run_record,
                          test_checkpoint, train_and_test)
from wkd_det.visualization import plot_method_comparison  # noqa: E402

METHODS = tuple(LABELS)
RUNS_ROOT = osp.expanduser(osp.join('~', 'wkd_runs'))


def summarise(values):
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def _short(path):
    """``path`` with the home directory as ``~``."""
    home = osp.expanduser('~')
    return '~' + path[len(home):] if path.startswith(home + os.sep) else path


def _timing(done):
    """Mean train time of some runs, over those trained in one go (a
    resumed run's time counts its last part only), and their mean seconds
    per iteration, as table cells."""
    whole = [r['train_s'] for r in done if not r.get('resumed')]
    per_iter = [r['s_per_iter'] for r in done if r.get('s_per_iter')]
    return (f'{statistics.mean(whole) / 60:.1f} min' if whole
            else 'n/a (resumed)',
            f'{statistics.mean(per_iter):.2f} s' if per_iter else 'n/a')


def _row(label, done, base_mean):
    """One table row: mean +- std of bbox mAP and mAP50 over ``done``."""
    m, s = summarise([r['metrics']['bbox_mAP'] for r in done])
    m50, s50 = summarise([r['metrics']['bbox_mAP_50'] for r in done])
    delta = f'{m - base_mean:+.3f}' if base_mean is not None else 'n/a'
    train_time, per_iter = _timing(done)
    return (f'| {label} | {len(done)} | {m:.3f} +- {s:.3f} | '
            f'{m50:.3f} +- {s50:.3f} | {delta} | {train_time} | '
            f'{per_iter} |')


def _by_method(runs):
    """``[(label, runs)]``: the runs of each method (``METHOD`` or
    ``METHOD@VARIANT``, labelled ``LABEL`` or ``LABEL @VARIANT``), in table
    order."""
    names = sorted({k.split('/')[0] for k in runs},
                   key=lambda n: (METHODS.index(n.split('@')[0]), n))
    grouped = []
    for name in names:
        method, _, tag = name.partition('@')
        grouped.append((LABELS[method] + (f' @{tag}' if tag else ''),
                        [r for k, r in runs.items()
                         if k.split('/')[0] == name]))
    return grouped


def _student_mean(runs, key):
    """Mean ``key`` metric of the student-alone runs, or None if none."""
    base = [r['metrics'][key] for k, r in runs.items()
            if k.startswith('student/')]
    return statistics.mean(base) if base else None


def plot_path(args, pair):
    """The figure of ``pair``'s table, beside the ``--out`` report."""
    return f'{osp.splitext(args.out)[0]}_{pair}.png'


def plot_table(results, pair, args):
    """Every run's bbox mAP and mAP50 by method, with the teacher and the
    mean of the student alone (:func:`plot_method_comparison`)."""
    panels, references = {}, {}
    for metric, key in (('bbox mAP', 'bbox_mAP'), ('mAP50', 'bbox_mAP_50')):
        panels[metric] = {label: [r['metrics'][key] for r in done]
                          for label, done in _by_method(results['runs'])}
        references[metric] = {'teacher': results['teacher']['metrics'][key]}
        base = _student_mean(results['runs'], key)
        if base is not None:
            references[metric]['student alone'] = base
    plot_method_comparison(
        panels, references, plot_path(args, pair),
        f'{pair}: {PAIRS[pair]["teacher"]} -> {PAIRS[pair]["student"]}, '
        f'{args.student_epochs}-epoch students (dots: seeds)')


def report_section(results, pair, args):
    """The markdown section of one pair: the teacher and its lead, the
    student-alone schedule curve, and a table of mean +- std per method."""
    teacher = results['teacher']
    runs = results['runs']
    base_mean = _student_mean(runs, 'bbox_mAP')
    lead = (f'; lead over the student alone (mean of the table\'s seeds): '
            f'{teacher["metrics"]["bbox_mAP"] - base_mean:+.3f} bbox mAP'
            if base_mean is not None else '')
    epochs = (f'{teacher["epochs"]} epochs' if teacher.get('epochs')
              else 'given checkpoint')
    header = ('| method | seeds | bbox mAP | mAP50 | mAP - student alone | '
              'train time / run | s / iter |')
    lines = [
        f'<!-- benchmark:{pair} -->',
        f'## {pair}: {PAIRS[pair]["teacher"]} -> {PAIRS[pair]["student"]}',
        '',
        f'Teacher `{PAIRS[pair]["teacher"]}` ({epochs}, '
        f"`{_short(teacher['checkpoint'])}`): bbox mAP "
        f'{teacher["metrics"]["bbox_mAP"]:.3f}, mAP50 '
        f'{teacher["metrics"]["bbox_mAP_50"]:.3f}{lead}.'
        + ''.join(f' Retrained on a new machine: the distilled runs trained '
                  f'before learnt from a teacher of bbox mAP '
                  f'{earlier["metrics"]["bbox_mAP"]:.3f}, mAP50 '
                  f'{earlier["metrics"]["bbox_mAP_50"]:.3f} (each run records '
                  'its teacher\'s bbox mAP as `teacher_mAP` in results.json).'
                  for earlier in teacher.get('earlier', []))
        + ' Student '
        f'`{PAIRS[pair]["student"]}`, {args.student_epochs} epochs for every '
        'method. Backbones pretrained on the train split\'s object crops '
        f'(`{_short(osp.join(args.data, "pretrained"))}`). Test split: the '
        'generated val split; mAP from MMDetection\'s test tool.', '']
    curve = {}
    for length in results.get('curve_lengths', []):
        key = f'{length}/seed{results["curve_seed"]}'
        done = results['curve'].get(key) or (
            length == args.student_epochs
            and runs.get(f'student/seed{results["curve_seed"]}'))
        if done:
            curve[length] = done
    if curve:
        lines += ['Student alone by schedule length, seed '
                  f'{results["curve_seed"]} (the plateau evidence for the '
                  'schedule above):', '',
                  header.replace('mAP - student alone', 'mAP - longest'),
                  '| --- | --- | --- | --- | --- | --- | --- |']
        longest = curve[max(curve)]['metrics']['bbox_mAP']
        for length, done in sorted(curve.items()):
            lines.append(_row(f'{length} epochs', [done], longest))
        lines.append('')
    lines += [header, '| --- | --- | --- | --- | --- | --- | --- |']
    for label, done in _by_method(runs):
        options = ' '.join(done[0]['options'])
        lines.append(_row(f'{label}: `{options}`' if options else label,
                          done, base_mean))
    everything = list(runs.values()) + list(results['curve'].values())
    lines += ['', 'Mean +- sample standard deviation over the seeds listed '
              '(0 when one seed); train time: the mean over the runs '
              'trained without interruption; s / iter is the mean iteration '
              'time the train tool logged. Per-run numbers: '
              f'`{_short(args.results)}`.', '']
    if runs:
        lines += [f'![bbox mAP and mAP50 per method, one dot per seed]'
                  f'({osp.basename(plot_path(args, pair))})', '']
    lines += ['Commands (train times are for the runs at a time and threads '
              'each that they name):', '',
              *sorted({f'- `{r.get("command", "not recorded")}`'
                       + (f' ({r["load"]})' if 'load' in r else '')
                       for r in everything}), '',
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


def regime_of(args):
    """What every run of a work dir shares, as JSON values: the teacher (a
    given checkpoint or its epochs) and the student epochs. The rest of
    what a run was (config, optimizer, pretrained backbone, options) is in
    its own record, checked by :func:`stale_runs`."""
    teacher = (osp.abspath(args.teacher_ckpt) if args.teacher_ckpt
               else f'{args.teacher_epochs} epochs')
    return dict(teacher=teacher, student_epochs=args.student_epochs)


def stale_runs(runs):
    """The finished runs ``{key: (recorded, record)}`` whose recorded run
    (:func:`saved_run`) is not ``record``, the run this invocation would
    train under that key, as ``{key: how they differ}``."""
    return {key: run_difference(recorded, record)
            for key, (recorded, record) in runs.items() if recorded != record}


def saved_run(done, work_dir):
    """The run record of the finished run ``done`` (a ``results.json``
    entry): the one it carries, else (runs of older versions) the
    ``run.json`` of its ``work_dir``, which it then carries too."""
    if done.get('run') is None:
        done['run'] = recorded_run(work_dir)
    return done['run']


def teacher_difference(recorded, retrained):
    """The metrics in which a retrained teacher's results differ from the
    recorded teacher's, as ``{metric: (recorded, retrained)}``."""
    old, new = recorded['metrics'], retrained['metrics']
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)}


def within(differs, tolerance):
    """Whether every difference of :func:`teacher_difference` is at most
    ``tolerance``."""
    return all(None not in pair and abs(pair[0] - pair[1]) <= tolerance
               for pair in differs.values())


def write_json(path, data):
    """Write ``data`` to ``path`` as indented JSON, atomically."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(path + '.tmp', path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pair', choices=sorted(PAIRS), default='faster-rcnn')
    parser.add_argument('--methods', nargs='+', choices=METHODS,
                        default=list(METHODS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    # the regime being measured (docs/results.md): revise with its evidence
    parser.add_argument('--teacher-epochs', type=int, default=6)
    parser.add_argument('--student-epochs', type=int, default=4)
    parser.add_argument('--curve', nargs='+', type=int, default=[],
                        metavar='EPOCHS', help='also train the student alone '
                        'for these schedule lengths (seed: the first of '
                        '--seeds), to show where it plateaus')
    parser.add_argument('--teacher-ckpt', default=None,
                        help='use this trained teacher (e.g. the demo\'s) '
                        'instead of training one')
    parser.add_argument('--data', default=osp.join(RUNS_ROOT, 'data', 'digits'))
    parser.add_argument('--pretrain-epochs', type=int, default=None,
                        help='epochs of the backbone pretraining (default: '
                        'per architecture, see tools/pretrain_backbone.py)')
    parser.add_argument('--work-dir', default=None,
                        help='default: ~/wkd_runs/benchmark_<pair>')
    parser.add_argument('--out', default=osp.join(REPO_ROOT, 'docs',
                                                  'results.md'))
    parser.add_argument('--record', default=None,
                        help='keep a copy of results.json here (e.g. '
                        'docs/benchmark_runs/PAIR.json, in the repository); '
                        'a work dir without results.json starts from it')
    parser.add_argument('--teacher-tolerance', type=float, default=0.0,
                        help='accept a retrained teacher (see --record) '
                        'whose COCO metrics are within this of the recorded '
                        'ones (default: the same metrics)')
    parser.add_argument('--variant', nargs='+', action='append',
                        metavar=('NAME', 'KEY=VALUE'),
                        help='a named set of config overrides of the '
                        'distillation methods; repeatable')
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings run at once')
    parser.add_argument('--threads', type=int, default=None,
                        help='threads per training (default: cores / jobs; '
                        'set it when another benchmark shares the cores)')
    args = parser.parse_args()
    if any(len(v) < 2 for v in args.variant or []):
        parser.error('--variant takes a name and at least one KEY=VALUE')
    variants = [(v[0], v[1:]) for v in args.variant or []] or [(None, [])]
    if args.variant and 'student' in args.methods:
        parser.error('a --variant applies to distillation methods only')
    args.data = osp.abspath(osp.expanduser(args.data))
    args.threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    env = dict(OMP_NUM_THREADS=str(args.threads))
    command = 'python tools/benchmark_accuracy.py ' + ' '.join(sys.argv[1:])
    load = f'{args.jobs} run(s) at a time, {args.threads} thread(s) each'
    work_dir = osp.abspath(osp.expanduser(args.work_dir or osp.join(
        RUNS_ROOT, f'benchmark_{args.pair}')))
    args.results = osp.join(work_dir, 'results.json')
    args.record = args.record and osp.abspath(args.record)
    os.makedirs(work_dir, exist_ok=True)
    results = dict(teacher=None, runs={}, curve={})
    kept = args.results if osp.isfile(args.results) else args.record
    if kept and osp.isfile(kept):
        with open(kept) as f:
            results.update(json.load(f))
        if kept == args.record:
            print(f'[benchmark] {work_dir} has no results.json: starting '
                  f'from the record {args.record} ({len(results["runs"])} '
                  f'runs, {len(results["curve"])} curve runs)', flush=True)
    if not osp.isfile(osp.join(args.data, 'annotations', 'val.json')):
        make_digits_coco(args.data)

    pair = PAIRS[args.pair]
    missing = [m for m in args.methods if m != 'student' and not osp.isfile(
        pair_config(args.pair, 'distill', m))]
    if missing:
        parser.error(f'--pair {args.pair} has no config for {missing} '
                     f'(configs/digits/{pair["distill"]})')
    teacher_cfg = pair_config(args.pair, 'teacher')
    student_cfg = pair_config(args.pair, 'student')
    # a work dir holds the runs of one regime: a changed default (schedule,
    # optimizer, pretraining) or option must not be reported with them
    regime = regime_of(args)
    saved = results.get('regime')
    changed = {k: dict(recorded=(saved or {}).get(k), now=v)
               for k, v in regime.items() if (saved or {}).get(k) != v}
    if (results['teacher'] or results['runs']) and changed:
        parser.error(f'{args.results} holds runs of another regime '
                     f'({changed}): use another --work-dir for this one')
    results['regime'] = regime
    # a trained teacher whose checkpoint is gone (a record on a new machine)
    # is trained again, and must be the recorded teacher
    recorded_teacher = results['teacher']
    # (a --teacher-ckpt teacher has no epochs: it was not trained here)
    trained_teacher = bool(recorded_teacher and 'epochs' in recorded_teacher)
    lost_teacher = (trained_teacher
                    and not osp.isfile(recorded_teacher['checkpoint']))
    if lost_teacher:
        print(f'[benchmark] the teacher checkpoint '
              f'{recorded_teacher["checkpoint"]} is gone: training it again; '
              'it must reproduce the recorded metrics', flush=True)
    # the teacher's backbone is needed only to train the teacher
    needs_teacher = (recorded_teacher is None and not args.teacher_ckpt
                     or lost_teacher)
    ensure_backbones([teacher_cfg] * needs_teacher + [student_cfg], args.data,
                     log=lambda m: print(m, flush=True),
                     epochs=args.pretrain_epochs)
    if results['teacher'] is None and args.teacher_ckpt:
        results['teacher'] = dict(checkpoint=osp.abspath(args.teacher_ckpt),
                                  train_s=None, **test_checkpoint(
                                      teacher_cfg, args.teacher_ckpt,
                                      osp.join(work_dir, 'teacher'),
                                      digits_data_options(args.data)))

    def run_name(method, tag):
        return f'{method}@{tag}' if tag else method

    def planned(method, tag, options, epochs, seed):
        """(config, extra options, work dir) of a student run."""
        if method == 'student':
            return (student_cfg, [],
                    osp.join(work_dir, f'student_{epochs}ep', f'seed{seed}'))
        return (pair_config(args.pair, 'distill', method),
                [f"model.teacher_ckpt={results['teacher']['checkpoint']}",
                 *options],
                osp.join(work_dir, run_name(method, tag), f'seed{seed}'))

    # a finished run is reported only while it is the run this invocation
    # would train (a changed default of a config, of the optimizer or of
    # the pretraining makes another run)
    finished = {}
    for store in ('runs', 'curve'):
        for key, done in results[store].items():
            name, seed = key.rsplit('/seed', 1)
            method, _, tag = name.partition('@')
            config, extra, run_dir = planned(
                'student' if store == 'curve' else method, tag,
                done['options'], done['epochs'], int(seed))
            finished[f'{store}:{key}'] = (saved_run(done, run_dir), run_record(
                config, args.data, done['epochs'], extra, int(seed)))
    if trained_teacher:
        finished['teacher'] = (
            saved_run(recorded_teacher, osp.join(work_dir, 'teacher')),
            run_record(teacher_cfg, args.data, recorded_teacher['epochs'],
                       seed=0))
    stale = stale_runs(finished)
    if stale:
        parser.error(f'{args.results} holds finished runs that are not the '
                     f'runs this invocation would train: {stale}; use '
                     'another --work-dir, or delete them (their directories '
                     'and results.json entries) to train them again')
    lock = threading.Lock()

    def save():
        # another invocation may share the work dir (other methods or
        # variants at once): merge what it saved, under a file lock
        with open(args.results + '.lock', 'w') as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            if osp.isfile(args.results):
                with open(args.results) as f:
                    saved = json.load(f)
                for store in ('runs', 'curve'):
                    results[store] = {**saved.get(store, {}), **results[store]}
                results['curve_lengths'] = sorted(
                    set(saved.get('curve_lengths', []))
                    | set(results.get('curve_lengths', [])))
            write_json(args.results, results)
            if args.record:
                write_json(args.record, results)
            if results['teacher'] is None:  # reported once it is trained
                return
            write_report(args.out, report_section(results, args.pair, args),
                         args.pair)
            if results['runs']:
                plot_table(results, args.pair, args)

    save()

    def train_teacher():
        start = time.perf_counter()
        print(f'[benchmark] teacher {pair["teacher"]}: training '
              f'{args.teacher_epochs} epochs', flush=True)
        teacher = dict(epochs=args.teacher_epochs, **train_and_test(
            teacher_cfg, osp.join(work_dir, 'teacher'), args.data,
            args.teacher_epochs, seed=0, env=env))
        if lost_teacher:
            differs = teacher_difference(recorded_teacher, teacher)
            if not within(differs, args.teacher_tolerance):
                # moved aside, so that a rerun does not take it for the
                # recorded teacher
                other = osp.join(work_dir, 'teacher_not_reproduced')
                shutil.rmtree(other, ignore_errors=True)
                os.replace(osp.join(work_dir, 'teacher'), other)
                raise RuntimeError(
                    f'the retrained teacher (now in {other}) is not the '
                    f'recorded one ({{metric: (recorded, retrained)}}: '
                    f'{differs}): the recorded distilled runs learnt from '
                    'another teacher; start a new table (another --work-dir '
                    'and --record), or accept it with --teacher-tolerance')
            if differs:
                earlier = {k: v for k, v in recorded_teacher.items()
                           if k != 'earlier'}
                teacher['earlier'] = [*recorded_teacher.get('earlier', []),
                                      earlier]
            else:
                teacher = dict(recorded_teacher,
                               checkpoint=teacher['checkpoint'])
        with lock:
            results['teacher'] = teacher
            save()
        print(f'[benchmark] teacher: bbox mAP '
              f'{teacher["metrics"]["bbox_mAP"]:.3f} '
              f'({(time.perf_counter() - start) / 60:.1f} min)', flush=True)

    def run(method, seed, tag, options, epochs, store, key):
        if method != 'student':
            teacher_trained.result()
        start = time.perf_counter()
        config, extra, run_dir = planned(method, tag, options, epochs, seed)
        print(f'[benchmark] {key}: training {epochs} epochs', flush=True)
        result = train_and_test(config, run_dir, args.data, epochs, extra,
                                seed, test_config=student_cfg, env=env)
        result.update(command=command, load=load, options=options,
                      epochs=epochs)
        if method != 'student':
            result['teacher_mAP'] = results['teacher']['metrics']['bbox_mAP']
        with lock:
            results[store][key] = result
            save()
        print(f'[benchmark] {key}: bbox mAP {result["metrics"]["bbox_mAP"]:.3f}'
              f' ({(time.perf_counter() - start) / 60:.1f} min)', flush=True)

    # a curve length equal to the table's schedule is the table's student run
    seed0 = results.setdefault('curve_seed', args.seeds[0])
    results['curve_lengths'] = sorted(set(results.get('curve_lengths', []))
                                      | set(args.curve))
    todo = [('student', seed0, None, [], epochs, 'curve', f'{epochs}/seed{seed0}')
            for epochs in args.curve if epochs != args.student_epochs
            and f'{epochs}/seed{seed0}' not in results['curve']]
    todo += [(method, seed, tag, options, args.student_epochs, 'runs',
              f'{run_name(method, tag)}/seed{seed}') for seed in args.seeds
             for tag, options in variants for method in args.methods
             if f'{run_name(method, tag)}/seed{seed}' not in results['runs']]
    if args.student_epochs in args.curve and 'student' not in args.methods \
            and f'student/seed{seed0}' not in results['runs']:
        todo.insert(0, ('student', seed0, None, [], args.student_epochs,
                        'runs', f'student/seed{seed0}'))
    # the student-alone runs need no teacher: they train beside it
    todo.sort(key=lambda job: job[0] != 'student')
    print(f'[benchmark] {len(todo)} runs to do, {args.jobs} at a time',
          flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        teacher_trained = pool.submit(
            train_teacher if needs_teacher else lambda: None)
        for future in [teacher_trained] + [pool.submit(run, *job)
                                           for job in todo]:
            future.result()
    save()
    print(f'[benchmark] report: {args.out}')


if __name__ == '__main__':
    main()
