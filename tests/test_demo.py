"""The demo and the accuracy benchmark, end to end on the tiny digits set
(2 training iterations per model), through the same tools a user runs."""
import json
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
from utils import REPO_ROOT, run_tool

from wkd_det.runs import (check_same_run, pair_config, recorded_run,
                          run_difference, run_record)


def test_demo_pipeline(tiny_digits, tmp_path):
    work_dir = tmp_path / 'demo'
    args = ['--data', str(tiny_digits), '--work-dir', str(work_dir),
            '--teacher-epochs', '1', '--student-epochs', '1',
            '--pretrain-epochs', '1']
    proc = run_tool(osp.join(REPO_ROOT, 'tools', 'demo.py'), *args,
                    timeout=900)
    rows = re.findall(r'^\| (teacher|student alone|student WKD-L\+F) .*\| '
                      r'(\d\.\d{3}) \| (\d\.\d{3}) \| (\d+\.\d) min \| '
                      r'(\d+\.\d\d) s \|$', proc.stdout, re.M)
    assert [r[0] for r in rows] == ['teacher', 'student alone',
                                    'student WKD-L+F'], proc.stdout
    assert re.search(r'distillation: [+-]\d\.\d{3} bbox mAP over the student '
                     'trained alone', proc.stdout)
    # the backbones were pretrained once, by the fixture, and reused
    assert proc.stdout.count('[pretrain] reusing') == 2
    for name in ('loss_curves.png', 'detections.png'):
        assert (work_dir / name).stat().st_size > 10_000
    # The distillation log has both distillation terms.
    log = (work_dir / 'student_wkd-lf' / 'train.log').read_text()
    assert 'loss_wkd_l' in log and 'loss_wkd_f' in log
    # Both trainings are seeded (--seed 0 by default).
    for run in ('teacher', 'student_alone', 'student_wkd-lf'):
        log = (work_dir / run / 'train.log').read_text()
        assert re.search(r'^\s*seed: 0$', log, re.M), run
    # A second run reuses the cached teacher.
    proc = run_tool(osp.join(REPO_ROOT, 'tools', 'demo.py'), *args,
                    timeout=900)
    assert 'reusing the cached teacher' in proc.stdout
    # A cached teacher of another run (schedule, seed) is refused, not
    # silently reused, and the error names what differs.
    for option, value, differs in (
            ('--teacher-epochs', '2', "'train_cfg.max_epochs=2'"),
            ('--seed', '1', "'randomness.seed=1'")):
        other = [*args, option, value]
        refused = subprocess.run(
            [sys.executable, osp.join(REPO_ROOT, 'tools', 'demo.py'), *other],
            capture_output=True, text=True, timeout=300)
        assert refused.returncode != 0
        assert 'is another run' in refused.stderr, refused.stderr[-3000:]
        assert differs in refused.stderr, refused.stderr[-3000:]


def test_accuracy_benchmark_report(tiny_digits, tmp_path):
    out = tmp_path / 'results.md'
    out.write_text('# Results\n\nHand-written notes stay.\n')
    common = ('--data', str(tiny_digits), '--work-dir', str(tmp_path / 'bench'),
              '--out', str(out), '--teacher-epochs', '1', '--student-epochs',
              '1', '--pretrain-epochs', '1')
    args = common + ('--seeds', '0', '1', '--methods', 'student', 'wkd-lf',
                     '--jobs', '2', '--curve', '1', '2')
    first = run_tool(osp.join(REPO_ROOT, 'tools', 'benchmark_accuracy.py'),
                     *args, timeout=1200).stdout
    # the student-alone runs need no teacher: one starts while it trains
    assert first.index('[benchmark] 2/seed0: training') \
        < first.index('[benchmark] teacher: bbox mAP'), first
    # A rerun skips the finished runs and replaces the section in place.
    rerun = run_tool(osp.join(REPO_ROOT, 'tools', 'benchmark_accuracy.py'),
                     *args, timeout=300)
    assert '0 runs to do' in rerun.stdout
    # Another regime (here the student schedule) is refused, not reported
    # beside the runs of this one.
    other = list(args)
    other[other.index('--student-epochs') + 1] = '2'
    refused = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark_accuracy.py'),
         *other], capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0
    assert 'another regime' in refused.stderr, refused.stderr[-3000:]
    assert "'student_epochs': {'recorded': 1, 'now': 2}" in refused.stderr
    # So is a finished run that is no longer the run the tool would train
    # (here its config as if a default had changed since), by its key: the
    # run record it carries in results.json is what is compared
    record = tmp_path / 'bench' / 'results.json'
    kept = record.read_text()
    old = json.loads(kept)
    old['runs']['student/seed1']['run']['config_digest'] = 'old'
    record.write_text(json.dumps(old))
    refused = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'benchmark_accuracy.py'),
         *args], capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0
    assert re.search(r"finished runs that are not the runs this invocation "
                     r"would train: \{'runs:student/seed1': \"config_digest "
                     r"'old', not '[0-9a-f]{40}'\"\}", refused.stderr), \
        refused.stderr[-3000:]
    record.write_text(kept)
    # A tuning variant: its own key and row, with its options.
    variant = ('--variant', 'lam50',
               'model.distill_losses.loss_wkd_l.wd_weight=50')
    run_tool(osp.join(REPO_ROOT, 'tools', 'benchmark_accuracy.py'),
             *common, '--seeds', '0', '--methods', 'wkd-lf', *variant,
             timeout=600)
    report = out.read_text()
    assert report.startswith('# Results\n\nHand-written notes stay.\n')
    assert report.count('<!-- benchmark:faster-rcnn -->') == 1
    assert '| student alone | 2 |' in report
    # the schedule curve: 1 epoch is the table's seed-0 student, 2 its own run
    assert 'Student alone by schedule length, seed 0' in report
    assert re.search(r'^\| 1 epochs \| 1 \| .*\n\| 2 epochs \| 1 \| .* \| '
                     r'\+0\.000 \|', report, re.M)
    assert 'lead over the student alone' in report
    assert '| WKD-L+F | 2 |' in report
    assert '| WKD-L+F @lam50: `model.distill_losses.loss_wkd_l.wd_weight=50` | 1 |' \
        in report
    assert '- `python tools/benchmark_accuracy.py' in report
    assert '](results_faster-rcnn.png)' in report
    assert (tmp_path / 'results_faster-rcnn.png').stat().st_size > 10_000
    assert ' --jobs 2 --curve 1 2` (2 run(s) at a time, ' in report
    runs = json.loads((tmp_path / 'bench' / 'results.json').read_text())
    assert sorted(runs['runs']) == ['student/seed0', 'student/seed1',
                                    'wkd-lf/seed0', 'wkd-lf/seed1',
                                    'wkd-lf@lam50/seed0']
    assert runs['runs']['wkd-lf@lam50/seed0']['options'] == [variant[-1]]
    assert list(runs['curve']) == ['2/seed0']
    assert runs['teacher']['epochs'] == 1
    assert runs['regime'] == dict(teacher='1 epochs', student_epochs=1)
    for run in runs['runs'].values():
        assert 0.0 <= run['metrics']['bbox_mAP'] <= 1.0


def test_benchmark_record_outlives_the_machine(tiny_digits, tmp_path):
    """With --record, a table survives the loss of its work dir (a new
    machine): the finished runs come back from the record, checked by the
    run records they carry, and the lost teacher is trained again and must
    reproduce the recorded metrics."""
    tool = osp.join(REPO_ROOT, 'tools', 'benchmark_accuracy.py')
    bench, record = tmp_path / 'bench', tmp_path / 'repo' / 'record.json'
    common = ('--data', str(tiny_digits), '--work-dir', str(bench), '--out',
              str(tmp_path / 'results.md'), '--record', str(record),
              '--teacher-epochs', '1', '--student-epochs', '1',
              '--pretrain-epochs', '1', '--threads', '1', '--methods',
              'student', 'kd')
    run_tool(tool, *common, '--seeds', '0', timeout=900)
    saved = json.loads(record.read_text())
    assert saved == json.loads((bench / 'results.json').read_text())
    assert sorted(saved['runs']) == ['kd/seed0', 'student/seed0']
    for done in [saved['teacher'], *saved['runs'].values()]:
        assert done['run']['options'] and done['run']['config_digest']
    # a work dir of an older version, whose runs carry no record, is
    # checked against its run.json files, and its runs then carry them
    legacy = json.loads((bench / 'results.json').read_text())
    for done in [legacy['teacher'], *legacy['runs'].values()]:
        del done['run']
    (bench / 'results.json').write_text(json.dumps(legacy))
    assert '0 runs to do' in run_tool(tool, *common, '--seeds', '0').stdout
    assert json.loads((bench / 'results.json').read_text()) == saved

    # a new machine: the work dir is gone, the record is not; the table
    # goes on (here a second seed) with the retrained teacher
    shutil.rmtree(bench)
    out = run_tool(tool, *common, '--seeds', '0', '1', timeout=900).stdout
    assert f'has no results.json: starting from the record {record} ' \
        '(2 runs, 0 curve runs)' in out, out
    assert 'is gone: training it again' in out
    assert '2 runs to do' in out  # student and kd, seed 1
    again = json.loads(record.read_text())
    assert again['teacher']['metrics'] == saved['teacher']['metrics']
    assert osp.isfile(again['teacher']['checkpoint'])
    for key in saved['runs']:  # the recorded runs are kept, not retrained
        assert again['runs'][key] == saved['runs'][key]
    assert sorted(again['runs']) == ['kd/seed0', 'kd/seed1', 'student/seed0',
                                     'student/seed1']

    # a retrained teacher that is not the recorded one stops the table
    shutil.rmtree(bench)
    again['teacher']['metrics']['bbox_mAP'] += 0.5
    record.write_text(json.dumps(again))
    refused = subprocess.run([sys.executable, tool, *common, '--seeds', '0'],
                             capture_output=True, text=True, timeout=900)
    assert refused.returncode != 0
    assert 'is not the recorded one' in refused.stderr, refused.stderr[-3000:]
    assert "'bbox_mAP': (" in refused.stderr
    assert (bench / 'teacher_not_reproduced' / 'run.json').is_file()
    assert not (bench / 'teacher').exists()
    # ... unless it is within --teacher-tolerance: the report then names the
    # teacher the earlier runs learnt from, and new runs record theirs
    out = run_tool(tool, *common, '--seeds', '0', '1', '2',
                   '--teacher-tolerance', '1', timeout=900).stdout
    assert '2 runs to do' in out
    accepted = json.loads(record.read_text())
    earlier = accepted['teacher']['earlier']
    assert [e['metrics'] for e in earlier] == [again['teacher']['metrics']]
    assert accepted['teacher']['metrics'] == saved['teacher']['metrics']
    assert accepted['runs']['kd/seed2']['teacher_mAP'] \
        == saved['teacher']['metrics']['bbox_mAP']
    assert 'teacher_mAP' not in accepted['runs']['student/seed2']
    report = (tmp_path / 'results.md').read_text()
    assert 'Retrained on a new machine: the distilled runs trained before ' \
        f'learnt from a teacher of bbox mAP {earlier[0]["metrics"]["bbox_mAP"]:.3f}' \
        in report


def test_benchmark_resumes_only_the_same_run(tmp_path):
    """A run directory is resumed only by the run that recorded it: a changed
    option (e.g. a new default renamed into the old run's key) or an
    unrecorded directory is refused instead of reported under the new name."""
    run = dict(config='wkd-l_fcos_r50_to_r18_digits.py',
               options=['randomness.seed=0'])
    check_same_run(str(tmp_path / 'a'), run, resuming=False)
    recorded = json.loads((tmp_path / 'a' / 'run.json').read_text())
    assert recorded == run
    check_same_run(str(tmp_path / 'a'), run, resuming=True)
    other = dict(run, options=[*run['options'], 'model.x.wd_weight=2'])
    with pytest.raises(RuntimeError, match='another run'):
        check_same_run(str(tmp_path / 'a'), other, resuming=True)
    (tmp_path / 'legacy').mkdir()
    with pytest.raises(RuntimeError, match='no run recorded'):
        check_same_run(str(tmp_path / 'legacy'), run, resuming=True)


def test_run_record_names_every_option(tmp_path):
    """The record of a train_and_test run holds what makes it that run: the
    options (data root, schedule, seed, backbone, extra options), the
    resolved config (a changed default is another run) and the pretrained
    backbone's settings; run_difference names exactly what differs."""
    config = pair_config('faster-rcnn', 'teacher')
    run = run_record(config, str(tmp_path), 4, ['train_dataloader.batch_size=2'],
                     seed=0)
    assert run['config'] == 'faster-rcnn_r50_fpn_digits.py'
    assert run['backbone'] is None  # not pretrained under tmp_path
    options = run['options']
    for expected in ('train_cfg.max_epochs=4', 'randomness.seed=0',
                     f'train_dataloader.dataset.data_root={tmp_path}/',
                     'train_dataloader.batch_size=2'):
        assert expected in options
    assert any(o.startswith('model.backbone.init_cfg.checkpoint=')
               and o.endswith('/pretrained/resnet50.pth') for o in options)
    assert options[-1] == 'train_dataloader.batch_size=2'
    other = run_record(config, str(tmp_path), 4,
                       ['train_dataloader.batch_size=2'], seed=1)
    assert run_difference(run, other) == (
        "recorded ['randomness.seed=0'] where this run has "
        "['randomness.seed=1']")
    assert run_difference(run, run) == 'the same run'
    assert run_difference(None, run) == 'no run recorded there'
    assert recorded_run(str(tmp_path)) is None
    check_same_run(str(tmp_path), run, resuming=False)
    assert recorded_run(str(tmp_path)) == run

    # a changed default in the config file (same name) is another run
    changed = tmp_path / 'changed' / osp.basename(config)
    changed.parent.mkdir()
    changed.write_text(f'_base_ = [{config!r}]\n'
                       'optim_wrapper = dict(optimizer=dict(lr=1e-4))\n')
    redefaulted = run_record(str(changed), str(tmp_path), 4,
                             ['train_dataloader.batch_size=2'], seed=0)
    assert redefaulted['options'] == run['options']
    assert redefaulted['config_digest'] != run['config_digest']
    assert run_difference(run, redefaulted).startswith('config_digest ')
    # so is a backbone pretrained with other settings
    record = tmp_path / 'pretrained' / 'resnet50.json'
    record.parent.mkdir()
    record.write_text(json.dumps(dict(arch='resnet50', epochs=16, seed=0)))
    pretrained = run_record(config, str(tmp_path), 4,
                            ['train_dataloader.batch_size=2'], seed=0)
    assert pretrained['backbone']['epochs'] == 16
    record.write_text(json.dumps(dict(arch='resnet50', epochs=6, seed=0)))
    assert run_difference(pretrained, run_record(
        config, str(tmp_path), 4, ['train_dataloader.batch_size=2'],
        seed=0)).startswith('backbone ')


def test_run_record_is_the_same_in_another_clone(tmp_path, monkeypatch):
    """A distiller config names its teacher config by its path: the record
    takes it relative to the repository, so a run resumes in a clone
    elsewhere (and another teacher config is still another run)."""
    import shutil

    import wkd_det.runs as runs
    config = pair_config('faster-rcnn', 'distill', 'wkd-lf')
    here = run_record(config, str(tmp_path), 4, seed=0)
    clone = tmp_path / 'clone'
    shutil.copytree(osp.join(REPO_ROOT, 'configs'), clone / 'configs')
    monkeypatch.setattr(runs, 'REPO_ROOT', str(clone))
    copied = str(clone / osp.relpath(config, REPO_ROOT))
    assert run_record(copied, str(tmp_path), 4, seed=0) == here
    distiller = clone / osp.relpath(config, REPO_ROOT)
    distiller.write_text(distiller.read_text().replace(
        "teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_digits.py'",
        "teacher_config='{{ fileDirname }}/cascade-rcnn_r50_fpn_digits.py'"))
    assert run_record(copied, str(tmp_path), 4, seed=0)['config_digest'] \
        != here['config_digest']
