"""Generate the synthetic digits detection dataset (COCO format).

Example::

    python tools/make_dataset.py --out data/digits
"""
import argparse
import os.path as osp
import sys
import time

# Run from any directory, installed or not.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from wkd_det.datasets import make_digits_coco  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/digits', help='output root')
    parser.add_argument('--num-train', type=int, default=600)
    parser.add_argument('--num-val', type=int, default=150)
    parser.add_argument('--image-size', type=int, default=192)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--img-format', default='png', choices=['png', 'jpg'])
    return parser.parse_args()


def main():
    args = parse_args()
    out = osp.abspath(args.out)
    print(f'Writing {args.num_train} train + {args.num_val} val images '
          f'({args.image_size} px, seed {args.seed}) to {out} ...')
    start = time.time()
    summary = make_digits_coco(
        out,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed,
        img_format=args.img_format)
    for split in ('train', 'val'):
        info = summary[split]
        print(f'{split}: {info["num_images"]} images, {info["num_boxes"]} '
              f'boxes -> {info["ann_file"]}')
    print(f'Done in {time.time() - start:.1f} s.')


if __name__ == '__main__':
    main()
