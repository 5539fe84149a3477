"""The wkd_det demo: distil a detector end to end on the embedded digits set.

Steps, each through the same tools a user runs:

1. generate the digits detection dataset (``tools/make_dataset.py``) if
   ``--data`` has none;
2. pretrain ResNet-50 and ResNet-18 on the train split's object crops, the
   ImageNet stand-in (``tools/pretrain_backbone.py``), cached in
   ``<data>/pretrained/``;
3. train the teacher (Faster R-CNN R50-FPN, with the 128-channel FPN and
   heads and the 160 px inputs of the ``*_fpn128_digits.py`` configs: about
   half the step time of the benchmark's 256 channels at 192 px), cached
   in ``<work-dir>/teacher``: a finished teacher is reused on the next run;
4. train the student (Faster R-CNN R18-FPN128) alone and distilled with
   WKD-L+F, same schedule and seed, the two at once (one thread each;
   ``tools/train.py``);
5. evaluate all three with ``tools/test.py`` (the distilled student with
   its plain config: the distillation checkpoint is a plain student
   checkpoint);
6. print a table (mAP, mAP50, training time, seconds per iteration) and
   write ``<work-dir>/loss_curves.png`` and ``<work-dir>/detections.png``.

Usage: python tools/demo.py [--work-dir work_dirs/demo] [--teacher-epochs N]
                            [--student-epochs N] [--data data/digits]
                            [--pretrain-epochs N] [--seed 0]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from wkd_det.datasets import make_digits_coco  # noqa: E402
from wkd_det.runs import (LABELS, REPO_ROOT, check_same_run,  # noqa: E402
                          ensure_backbones, pair_config, read_scalars,
                          run_record, train_and_test)
from wkd_det.visualization import (plot_detections,  # noqa: E402
                                   plot_loss_curves)

# the benchmark's Faster R-CNN pair with a 128-channel FPN and heads
PAIR = 'faster-rcnn-fpn128'
TEACHER = pair_config(PAIR, 'teacher')
STUDENT = pair_config(PAIR, 'student')
# the WKD setting README recommends for two-stage detectors, on the evidence
# of docs/results.md (the Faster R-CNN pair)
METHOD = 'wkd-lf'
LABEL = LABELS[METHOD]
DISTILL = pair_config(PAIR, 'distill', METHOD)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default=osp.join(REPO_ROOT, 'work_dirs',
                                                       'demo'))
    parser.add_argument('--data', default=osp.join(REPO_ROOT, 'data',
                                                   'digits'))
    # a schedule that fits about 15 min on a 2-core CPU (README, Demo): the
    # teacher leads by training twice as long as the students, from a
    # larger backbone
    parser.add_argument('--teacher-epochs', type=int, default=2)
    parser.add_argument('--student-epochs', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--num-train', type=int, default=600,
                        help='images to generate if --data has none')
    parser.add_argument('--num-val', type=int, default=150)
    parser.add_argument('--pretrain-epochs', type=int, default=3,
                        help='backbone pretraining epochs (the benchmark '
                        'pretrains longer: see tools/pretrain_backbone.py)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed of every training')
    args = parser.parse_args()
    start = time.perf_counter()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)

    if not osp.isfile(osp.join(args.data, 'annotations', 'val.json')):
        print(f'[demo] generating the digits dataset in {args.data}',
              flush=True)
        make_digits_coco(args.data, num_train=args.num_train,
                         num_val=args.num_val)

    ensure_backbones([TEACHER, STUDENT], args.data,
                     log=lambda m: print(m, flush=True),
                     epochs=args.pretrain_epochs)
    teacher_dir = osp.join(work_dir, 'teacher')
    cache = osp.join(teacher_dir, 'demo_teacher.json')
    options = [f'train_dataloader.batch_size={args.batch_size}']
    if osp.isfile(cache):
        # the cached teacher is reused only if it is this run (schedule,
        # seed, batch size, config, data and backbones): the check of
        # train_and_test's resumption
        try:
            check_same_run(teacher_dir, run_record(
                TEACHER, args.data, args.teacher_epochs, options, args.seed),
                resuming=True)
        except RuntimeError as err:
            parser.error(f'the cached teacher: {err}, or pass the options it '
                         'was trained with')
        with open(cache) as f:
            teacher = json.load(f)
        print(f'[demo] reusing the cached teacher {teacher["checkpoint"]} '
              f'(delete {teacher_dir} to retrain)', flush=True)
    else:
        print(f'[demo] training the teacher ({osp.basename(TEACHER)}, '
              f'{args.teacher_epochs} epochs); log: '
              f'{teacher_dir}/train.log', flush=True)
        teacher = train_and_test(TEACHER, teacher_dir, args.data,
                                 args.teacher_epochs, options, args.seed)
        with open(cache, 'w') as f:
            json.dump(teacher, f, indent=1)

    alone_dir = osp.join(work_dir, 'student_alone')
    student_dir = osp.join(work_dir, f'student_{METHOD}')
    print(f'[demo] training the student alone ({osp.basename(STUDENT)}) and '
          f'distilled ({osp.basename(DISTILL)}), {args.student_epochs} epochs '
          f'each, at once; logs: {alone_dir}/train.log, '
          f'{student_dir}/train.log', flush=True)
    threads = dict(OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // 2)))
    with ThreadPoolExecutor(2) as pool:
        alone = pool.submit(train_and_test, STUDENT, alone_dir, args.data,
                            args.student_epochs, options, args.seed,
                            env=threads)
        student = pool.submit(
            train_and_test, DISTILL, student_dir, args.data,
            args.student_epochs,
            options + [f'model.teacher_ckpt={teacher["checkpoint"]}'],
            args.seed, test_config=STUDENT, env=threads)
        alone, student = alone.result(), student.result()

    plot_loss_curves({'teacher': read_scalars(teacher_dir),
                      'student alone': read_scalars(alone_dir),
                      f'student, {LABEL}': read_scalars(student_dir)},
                     osp.join(work_dir, 'loss_curves.png'))
    val_dir = osp.join(args.data, 'val')
    images = [osp.join(val_dir, name) for name in sorted(os.listdir(val_dir))[:6]]
    print(f'[demo] drawing the student\'s detections on {len(images)} val '
          'images', flush=True)
    plot_detections(STUDENT, student['checkpoint'], images,
                    osp.join(work_dir, 'detections.png'))

    rows = [('teacher ' + osp.basename(TEACHER)[:-3], teacher),
            ('student alone ' + osp.basename(STUDENT)[:-3], alone),
            (f'student {LABEL} ' + osp.basename(STUDENT)[:-3], student)]
    print('\n| model | bbox mAP | mAP50 | train time | s / iter |')
    print('| --- | --- | --- | --- | --- |')
    for name, run in rows:
        m = run['metrics']
        per_iter = (f'{run["s_per_iter"]:.2f} s' if run.get('s_per_iter')
                    else 'n/a')
        print(f'| {name} | {m["bbox_mAP"]:.3f} | {m["bbox_mAP_50"]:.3f} | '
              f'{run["train_s"] / 60:.1f} min | {per_iter} |')
    gain = student['metrics']['bbox_mAP'] - alone['metrics']['bbox_mAP']
    print(f'\n[demo] distillation: {gain:+.3f} bbox mAP over the student '
          'trained alone (same schedule and seed; the two students trained '
          'at once, one thread each, so their times are for that load)')
    print(f'\n[demo] done in {(time.perf_counter() - start) / 60:.1f} min; '
          f'pictures: {work_dir}/loss_curves.png, {work_dir}/detections.png')


if __name__ == '__main__':
    main()
