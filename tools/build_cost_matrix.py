"""Build a teacher's WKD-L category cost matrix from its per-category features.

Example::

    python tools/build_cost_matrix.py TEACHER_CONFIG TEACHER_CHECKPOINT \\
        --out work_dirs/cost/teacher.pth --samples-per-class 100 \\
        --plot work_dirs/cost/teacher.png

The teacher runs over the train split of its own dataset config (or of
``--data-config``) with the test pipeline; ``wkd_det.category_features`` says
which features are taken, up to N = ``--samples-per-class`` per category.
``--interrelation`` (names in ``wkd_det.cost_matrix.INTERRELATIONS``) turns
them into the category interrelation IR and the file holds
M = 1 - exp(-kappa (1 - IR)):

- ``second-moment`` (default): alignment of the categories' uncentred feature
  second moments; uses every sample kept, any count per category;
- ``class-mean``: cosine of the categories' mean features; any count;
- ``paired-cka``: the authors' linear CKA, which pairs the k-th samples of two
  categories (order-dependent, see ``pairwise_linear_cka``); it needs the same
  number in every category: all use n = min(N, max(smallest count,
  --min-samples)) and those with fewer than n are topped up by drawing their
  own samples again, with replacement.

Categories with fewer than N samples are listed (and recorded in the file's
settings, with the interrelation); a category with none is an error. The file
is what a WKD-L term's ``cost=<file>`` reads.
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
from wkd_det.cost_matrix import (BACKGROUND, DEFAULT_INTERRELATION,
                                 build_interrelation, interrelation_names,
                                 save_cost_matrix)
from wkd_det.functional import cost_from_interrelation
from wkd_det.models.teacher import build_teacher


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the WKD-L category cost matrix of a teacher '
        'detector')
    parser.add_argument('config', help='teacher config file')
    parser.add_argument('checkpoint', help='teacher checkpoint file')
    parser.add_argument('--out', required=True, help='cost-matrix file')
    parser.add_argument('--data-config',
                        help='config whose train split to use (default: the '
                        'teacher config)')
    parser.add_argument('--samples-per-class', type=int, default=100,
                        help='N, samples kept per category')
    parser.add_argument('--interrelation', default=DEFAULT_INTERRELATION,
                        help='category interrelation IR, a name registered in '
                        'wkd_det.cost_matrix.INTERRELATIONS (the config\'s '
                        'custom_imports can add one): '
                        f'{", ".join(interrelation_names())}; default '
                        f'{DEFAULT_INTERRELATION}; paired-cka is the authors\' '
                        'order-dependent form')
    parser.add_argument('--min-samples', type=int, default=10,
                        help='paired-cka only: fewest samples per category '
                        'before topping up with replacement')
    parser.add_argument('--max-images', type=int,
                        help='use a seeded random subset of this many images')
    parser.add_argument('--kappa', type=float, default=1.0,
                        help='M = 1 - exp(-kappa (1 - IR))')
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
    interrelation = build_interrelation(args.interrelation)

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
    short = {name: c for name, c in zip(names, counts)
             if c < args.samples_per_class}
    if getattr(interrelation, 'equal_counts', False):
        n = min(args.samples_per_class, max(min(counts), args.min_samples))
        topped_up = [name for name, c in short.items() if c < n]
        feats = list(sampler.stack(n))
        used = dict.fromkeys(names, n)
    else:  # pairing-free: every kept sample, any count per category
        topped_up = []
        feats = sampler.feats
        used = dict(zip(names, counts))
    low, high = min(used.values()), max(used.values())
    per_category = f'n = {low}' if low == high else f'{low} to {high}'
    print(f'\ninterrelation: {args.interrelation}; samples per category: '
          f'{per_category}')
    if short:
        print(f'categories with fewer than {args.samples_per_class} samples '
              f'(name: count): {short}')
    if topped_up:
        print(f'topped up to {n} with replacement: {topped_up}')

    cost = cost_from_interrelation(interrelation(feats), args.kappa)
    settings = dict(
        interrelation=args.interrelation, feature=feature, kappa=args.kappa,
        samples_per_class=args.samples_per_class, samples_used=used,
        min_samples=args.min_samples, seed=args.seed,
        seen=dict(zip(names, sampler.seen.tolist())), short_classes=short,
        topped_up=topped_up, num_images=len(dataset),
        teacher_config=args.config, checkpoint=args.checkpoint,
        data_config=args.data_config or args.config)
    save_cost_matrix(args.out, cost, names, settings)
    print(f'saved the {len(names)}x{len(names)} cost matrix '
          f'({args.interrelation}) to {args.out}')

    if args.plot:
        title = (f'{osp.basename(args.config)}: {args.interrelation} cost\n'
                 f'kappa={args.kappa:g}, {per_category} per category, '
                 f'seed={args.seed}, {feature}')
        plot_cost(cost, names, title, args.plot)
        print(f'saved the heatmap to {args.plot}')

    print('closest category pairs (lowest cost):')
    for a, b, value in closest_pairs(cost, names):
        print(f'  {a!r} - {b!r}: {value:.4f}')


if __name__ == '__main__':
    main()
