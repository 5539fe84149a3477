"""Build a teacher's WKD-L category cost matrix by linear CKA.

Example::

    python tools/build_cost_matrix.py TEACHER_CONFIG TEACHER_CHECKPOINT \\
        --out work_dirs/cost/teacher_cka.pth --samples-per-class 100 \\
        --plot work_dirs/cost/teacher_cka.png

The teacher runs over the train split of its own dataset config (or of
``--data-config``) with the test pipeline; ``wkd_det.category_features`` says
which features are taken. CKA needs the same number of samples in every
category: all use n = min(N, max(smallest count, --min-samples)). Categories
with fewer than N samples are listed (and recorded in the file's settings);
those with fewer than n are topped up by drawing their own samples again, with
replacement; a category with none is an error. The file is what a WKD-L term's
``cost=<file>`` reads.
"""
import argparse
import os.path as osp

import torch
from mmdet.registry import DATASETS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from torch.utils.data import Subset

from wkd_det.category_features import (CategorySampler, classifier_input_name,
                                       collect_category_features,
                                       feature_dataset_cfg)
from wkd_det.cost_matrix import BACKGROUND, save_cost_matrix
from wkd_det.functional import cost_from_interrelation, pairwise_linear_cka
from wkd_det.models.teacher import build_teacher


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the CKA category cost matrix of a teacher detector')
    parser.add_argument('config', help='teacher config file')
    parser.add_argument('checkpoint', help='teacher checkpoint file')
    parser.add_argument('--out', required=True, help='cost-matrix file')
    parser.add_argument('--data-config',
                        help='config whose train split to use (default: the '
                        'teacher config)')
    parser.add_argument('--samples-per-class', type=int, default=100,
                        help='N, samples kept per category')
    parser.add_argument('--min-samples', type=int, default=10,
                        help='fewest samples per category before topping up '
                        'with replacement')
    parser.add_argument('--max-images', type=int,
                        help='use a seeded random subset of this many images')
    parser.add_argument('--kappa', type=float, default=1.0,
                        help='M = 1 - exp(-kappa (1 - CKA))')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device',
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--plot', help='heatmap PNG file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the teacher config (and of '
                        '--data-config), key=value')
    return parser.parse_args()


def closest_pairs(cost: torch.Tensor, names: list, k: int = 5) -> list:
    """The ``k`` lowest-cost pairs (i < j) as (name_i, name_j, cost)."""
    i, j = torch.triu_indices(len(names), len(names), offset=1)
    values = cost[i, j]
    order = values.argsort()[:k].tolist()
    return [(names[i[o]], names[j[o]], float(values[o])) for o in order]


def plot_cost(cost: torch.Tensor, names: list, title: str, path: str) -> None:
    """Heatmap of the (K, K) cost, names on both axes, scaled with K."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    k = len(names)
    side = max(5.0, 0.17 * k + 2.5)  # inches
    font = min(10.0, max(4.0, 0.55 * 72 * (side - 2.5) / k))
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    off = cost[~torch.eye(k, dtype=torch.bool)]
    image = ax.imshow(cost.numpy(), cmap='viridis', vmin=float(off.min()),
                      vmax=float(off.max()))
    ax.set_xticks(range(k), names, rotation=90, fontsize=font)
    ax.set_yticks(range(k), names, fontsize=font)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                bright = image.norm(float(cost[i, j])) > 0.6
                ax.text(j, i, f'{float(cost[i, j]):.2f}', ha='center',
                        va='center', fontsize=font * 0.8,
                        color='k' if bright else 'w')
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02,
                 label='cost (low: similar categories)')
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    data_cfg = Config.fromfile(args.data_config) if args.data_config else cfg
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
        data_cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))

    teacher = build_teacher(cfg, args.checkpoint)[0].to(args.device)
    layer = classifier_input_name(teacher)
    feature = f'input of {layer}'
    head = teacher.get_submodule(layer.rsplit('.', 1)[0])
    dataset = DATASETS.build(feature_dataset_cfg(data_cfg))
    names = list(dataset.metainfo['classes']) + [BACKGROUND]
    if head.num_classes + 1 != len(names):
        raise ValueError(f'the teacher has {head.num_classes} classes but '
                         f'the dataset has {len(names) - 1}')
    if args.max_images and args.max_images < len(dataset):
        generator = torch.Generator().manual_seed(args.seed)
        pick = torch.randperm(len(dataset), generator=generator)
        dataset = Subset(dataset, pick[:args.max_images].sort().values.tolist())

    print(f'collecting up to {args.samples_per_class} features per category '
          f'({feature}) from {len(dataset)} images')
    sampler = CategorySampler(len(names), args.samples_per_class, args.seed)
    collect_category_features(
        teacher, dataset, sampler,
        data_cfg.train_dataloader.get('num_workers', 2))

    counts = sampler.counts
    missing = [name for name, c in zip(names, counts) if c == 0]
    if missing:
        raise ValueError(f'no samples of categories {missing} in '
                         f'{len(dataset)} images: use more images or a '
                         'dataset where they appear')
    n = min(args.samples_per_class, max(min(counts), args.min_samples))
    short = {name: c for name, c in zip(names, counts)
             if c < args.samples_per_class}
    topped_up = [name for name, c in short.items() if c < n]
    print(f'\nsamples per category: n = {n}')
    if short:
        print(f'categories with fewer than {args.samples_per_class} samples '
              f'(name: count): {short}')
    if topped_up:
        print(f'topped up to {n} with replacement: {topped_up}')

    cka = pairwise_linear_cka(sampler.stack(n))
    cost = cost_from_interrelation(cka, args.kappa)
    settings = dict(
        interrelation='linear CKA', feature=feature, kappa=args.kappa,
        samples_per_class=args.samples_per_class, samples_used=n,
        min_samples=args.min_samples, seed=args.seed,
        seen=dict(zip(names, sampler.seen.tolist())), short_classes=short,
        topped_up=topped_up, num_images=len(dataset),
        teacher_config=args.config, checkpoint=args.checkpoint,
        data_config=args.data_config or args.config)
    save_cost_matrix(args.out, cost, names, settings)
    print(f'saved the {len(names)}x{len(names)} cost matrix to {args.out}')

    if args.plot:
        title = (f'{osp.basename(args.config)}: linear-CKA cost\n'
                 f'kappa={args.kappa:g}, n={n} per category, '
                 f'seed={args.seed}, {feature}')
        plot_cost(cost, names, title, args.plot)
        print(f'saved the heatmap to {args.plot}')

    print('closest category pairs (lowest cost):')
    for a, b, value in closest_pairs(cost, names):
        print(f'  {a!r} - {b!r}: {value:.4f}')


if __name__ == '__main__':
    main()
