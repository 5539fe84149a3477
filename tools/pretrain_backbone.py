"""Pretrain detector backbones as classifiers on the object crops of a
COCO-format set's train split (the ImageNet stand-in; see
``wkd_det/pretraining.py``).

Writes ``<data>/pretrained/<arch>.pth`` (the backbone, keys ``backbone.*``,
for ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``)
and ``<arch>.json`` (settings, val top-1, time). A checkpoint whose settings
match is reused; ``--force`` retrains.

Example::

    python tools/pretrain_backbone.py --data data/digits --arch resnet18 resnet50
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from wkd_det.pretraining import (ARCHS, DEFAULT_EPOCHS,  # noqa: E402
                                 DEFAULTS, ensure_pretrained, pretrained_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', default='data/digits',
                        help='dataset root (annotations/train.json, train/)')
    parser.add_argument('--arch', nargs='+', choices=sorted(ARCHS),
                        default=['resnet18', 'resnet50'])
    parser.add_argument('--epochs', type=int, default=None,
                        help='default: per architecture, '
                        f'{DEFAULT_EPOCHS}')
    for key in ('crop_size', 'batch_size', 'seed'):
        parser.add_argument('--' + key.replace('_', '-'), type=int,
                            default=DEFAULTS[key])
    for key in ('lr', 'weight_decay'):
        parser.add_argument('--' + key.replace('_', '-'), type=float,
                            default=DEFAULTS[key])
    parser.add_argument('--force', action='store_true',
                        help='retrain even if a matching checkpoint exists')
    args = parser.parse_args()
    settings = {k: getattr(args, k) for k in DEFAULTS}
    for arch in args.arch:
        path = pretrained_path(args.data, arch)
        if args.force and osp.isfile(path):
            os.remove(path)
        ensure_pretrained(arch, args.data, log=lambda m: print(m, flush=True),
                          **settings)


if __name__ == '__main__':
    main()
