"""Cost of a WKD-L + WKD-F distillation step over its unavoidable parts.

``--pair faster-rcnn`` (default): Faster R-CNN R50-FPN -> R18-FPN (COCO
configs: 80 classes, 512 sampled RoIs per image), 320 x 320 inputs;
``--pair retinanet``: RetinaNet R50-FPN -> R18-FPN (COCO configs, every
anchor), 640 x 640 inputs. Random weights, batch 2, on the CPU or with
``--device cuda`` on a GPU (synchronised around each step). Times,
interleaved, per iteration:

- distill: one ``DetectionDistiller`` training step (student loss, teacher
  forward, WKD-L on the sampled RoIs or anchors, WKD-F on all FPN levels,
  backward, SGD step over student and projectors);
- reference: one student-only training step plus the teacher's no-grad
  forward on the same samples (backbone + neck + RoI head on the RoIs that
  student step sampled, or + the dense head's classification branch);

in alternating order, and prints the ratio of their medians::

    RESULT step_overhead ratio=<median distill / median reference>

``--count-ops`` counts instead of timing: the ATen ops one step of each
kind dispatches (forward and backward) and the host syncs among them (a
tensor read back to Python: ``.item()``, ``bool()``, ``float()``). On a GPU
every op is at least one kernel launch and every sync a stall, so the
difference is the terms' launch overhead, measured on any machine::

    RESULT step_ops distill=<ops> reference=<ops> extra=<ops> extra_syncs=<n>

Usage: ``python tools/benchmark_step.py [--pair retinanet] [--iters N]
[--quick] [--device cuda] [--terms loss_wkd_f] [--count-ops]``.
"""
import argparse
import collections
import os.path as osp
import statistics
import tempfile
import time

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData
from torch.utils._python_dispatch import TorchDispatchMode

from wkd_det.models.recorder import recording
from wkd_det.models.teacher import load_teacher_config

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs')
#: student config, config of the distillation terms, teacher, input size
PAIRS = {
    'faster-rcnn': ('students/faster-rcnn_r18_fpn_1x_coco.py',
                    'wkd/wkd-lf_faster-rcnn_r101_to_r18_fpn_1x_coco.py',
                    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 320),
    'retinanet': ('students/retinanet_r18_fpn_1x_coco.py',
                  'wkd/wkd-lf_retinanet_r101_to_r18_fpn_1x_coco.py',
                  'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', 640),
}


def build_distiller(pair: str, checkpoint_dir: str, keep=None):
    """The R50 -> R18 distiller of ``pair`` with the WKD-L + F terms of its
    COCO config (only those named in ``keep``, if given) and a randomly
    initialised teacher checkpoint."""
    student, terms, teacher_config = PAIRS[pair][:3]
    distill_losses = Config.fromfile(osp.join(CONFIG_DIR,
                                              terms)).model.distill_losses
    if keep:
        unknown = set(keep) - set(distill_losses)
        if unknown:
            raise SystemExit(f'--terms: {sorted(unknown)} not among '
                             f'{sorted(distill_losses)}')
        distill_losses = {name: distill_losses[name] for name in keep}
    teacher_ckpt = osp.join(checkpoint_dir, 'teacher.pth')
    teacher = MODELS.build(load_teacher_config(teacher_config).model)
    torch.save({'state_dict': teacher.state_dict()}, teacher_ckpt)
    return MODELS.build(dict(
        type='DetectionDistiller',
        student=Config.fromfile(osp.join(CONFIG_DIR, student)).model,
        teacher_config=teacher_config,
        teacher_ckpt=teacher_ckpt,
        distill_losses=distill_losses)).train()


def make_batch(num_images: int, size: int, device: str):
    """Normalised random images with 3-6 random boxes each, on ``device``."""
    generator = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(num_images):
        num = int(torch.randint(3, 7, (1, ), generator=generator))
        corner = torch.rand(num, 2, generator=generator) * size * 0.7
        extent = 16 + torch.rand(num, 2, generator=generator) * size * 0.3
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), pad_shape=(size, size),
            ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([corner, corner + extent], dim=1),
            labels=torch.randint(0, 80, (num, ), generator=generator))
        samples.append(sample.to(device))
    inputs = torch.randn(num_images, 3, size, size, generator=generator)
    return inputs.to(device), samples


def train_step(loss_fn, optimizer, inputs, samples) -> None:
    """Loss, backward and SGD step."""
    optimizer.zero_grad(set_to_none=True)
    losses = loss_fn(inputs, samples)
    total = sum(value for name, value in losses.items()
                if 'loss' in name for value in (
                    value if isinstance(value, list) else [value]))
    total.backward()
    optimizer.step()


def distill_step(distiller, optimizer, inputs, samples) -> None:
    train_step(distiller.loss, optimizer, inputs, samples)


def reference_step(distiller, optimizer, inputs, samples) -> None:
    """Student-only step, then the teacher on the samples (RoIs or anchors)
    that step used, as the logit source pairs them (without logit terms:
    the teacher's backbone and neck)."""
    source = distiller.logit_source
    with recording(source.recorders if source is not None else ()):
        train_step(distiller.student.loss, optimizer, inputs, samples)
    with torch.no_grad():
        feats = distiller.teacher.extract_feat(inputs)
        if source is not None:
            source.collect(distiller.teacher, feats)


class OpCounter(TorchDispatchMode):
    """Counts the ATen ops dispatched while active, by name (overloads
    merged); ``syncs`` is the count of host reads (``_local_scalar_dense``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))

    @property
    def syncs(self) -> int:
        return self.ops['_local_scalar_dense']


def count_ops(steps: dict, distiller, optimizer, inputs, samples) -> None:
    """Print the ops and syncs of one step of each kind (after a warm-up
    step) and the most frequent extra ops of the distill step."""
    counts = {}
    for name, step in steps.items():
        step(distiller, optimizer, inputs, samples)
        with OpCounter() as counter:
            step(distiller, optimizer, inputs, samples)
        counts[name] = counter
        print(f'{name}: {sum(counter.ops.values())} ops, {counter.syncs} '
              'host syncs')
    distill, reference = counts['distill'], counts['reference']
    extra = distill.ops.copy()
    extra.subtract(reference.ops)
    print('most frequent extra ops: ' + ', '.join(
        f'{op} {n}' for op, n in extra.most_common(12)))
    print(f'RESULT step_ops distill={sum(distill.ops.values())} '
          f'reference={sum(reference.ops.values())} '
          f'extra={sum(extra.values())} '
          f'extra_syncs={distill.syncs - reference.syncs}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=10,
                        help='timed iterations of each kind')
    parser.add_argument('--pair', choices=sorted(PAIRS), default='faster-rcnn')
    parser.add_argument('--size', type=int, default=None,
                        help='input side (default: 320 Faster R-CNN, 640 '
                        'RetinaNet)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--terms', nargs='+', default=None,
                        help='distil with only these terms of the config '
                        "(e.g. 'loss_wkd_f'; default: all)")
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or a CUDA device such as 'cuda'")
    parser.add_argument('--quick', action='store_true',
                        help='3 timed iterations of each kind')
    parser.add_argument('--count-ops', action='store_true',
                        help='count the ops and host syncs of one step of '
                        'each kind instead of timing')
    args = parser.parse_args()
    iters = 3 if args.quick else args.iters
    register_all_modules()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as checkpoint_dir:
        distiller = build_distiller(args.pair, checkpoint_dir,
                                    args.terms).to(args.device)
    on_cuda = torch.device(args.device).type == 'cuda'
    synchronize = torch.cuda.synchronize if on_cuda else lambda: None
    print(f'device: {args.device}'
          + (f' ({torch.cuda.get_device_name(args.device)})' if on_cuda else ''))
    # lr 0: the SGD update runs, but the weights keep their values, so
    # every iteration times the same computation (random weights drift
    # into slow, denormal ranges otherwise)
    optimizer = torch.optim.SGD(distiller.parameters(), lr=0.0, momentum=0.9)
    inputs, samples = make_batch(args.batch, args.size or PAIRS[args.pair][3],
                                 args.device)
    steps = {'distill': distill_step, 'reference': reference_step}
    if args.count_ops:
        count_ops(steps, distiller, optimizer, inputs, samples)
        return
    times = {name: [] for name in steps}
    for step in steps.values():  # warm-up
        step(distiller, optimizer, inputs, samples)
    for i in range(iters):
        # alternate which kind goes first, so slow drifts cancel
        for name, step in sorted(steps.items(), reverse=bool(i % 2)):
            synchronize()
            start = time.perf_counter()
            step(distiller, optimizer, inputs, samples)
            synchronize()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        print(f'{name}: median {median:.3f} s over {iters} steps '
              f'({", ".join(f"{t:.3f}" for t in times[name])})')
    ratio = medians['distill'] / medians['reference']
    print(f'RESULT step_overhead ratio={ratio:.3f}')


if __name__ == '__main__':
    main()
