"""Pictures of distillation runs: loss curves, detections on images, and
the methods of a benchmark side by side."""
import os.path as osp
from typing import Dict, List, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def plot_loss_curves(runs: Dict[str, List[dict]], out_file: str) -> None:
    """One panel per run: every ``loss*`` scalar against the iteration.

    Args:
        runs: run name to the records of its ``vis_data/scalars.json``.
        out_file: PNG path.
    """
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4),
                             squeeze=False)
    for ax, (name, records) in zip(axes[0], runs.items()):
        train = [r for r in records if 'loss' in r and 'iter' in r]
        keys = sorted({k for r in train for k in r if k.startswith('loss')})
        for key in keys:
            points = [(r['iter'], r[key]) for r in train if key in r]
            ax.plot(*zip(*points), label=key,
                    linewidth=2.5 if key == 'loss' else 1.2)
        ax.set_title(name)
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.set_yscale('log')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    plt.close(fig)


def plot_method_comparison(panels: Dict[str, Dict[str, List[float]]],
                           references: Dict[str, Dict[str, float]],
                           out_file: str, title: str = '') -> None:
    """One panel per metric: each method's runs as dots (one per seed) on a
    bar at their mean, and reference values (the teacher, the student
    alone) as vertical lines.

    Args:
        panels: metric name -> method label -> one value per run; methods
            are drawn top to bottom in this order.
        references: metric name -> label -> value (a black line each, in
            three styles: at most three per metric).
        out_file: PNG path.
        title: the figure's title.
    """
    rows = max(len(methods) for methods in panels.values())
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels),
                                                      1.2 + 0.45 * rows),
                             squeeze=False)
    for ax, (metric, methods) in zip(axes[0], panels.items()):
        labels = list(methods)[::-1]
        values = [methods[label] for label in labels]
        ax.barh(range(len(labels)), [sum(v) / len(v) for v in values],
                color='#9ecae1', height=0.6)
        for y, runs in enumerate(values):
            ax.plot(runs, [y] * len(runs), 'o', color='#08519c', ms=4)
        lows = [min(v) for v in values]
        for (name, value), style in zip(references.get(metric, {}).items(),
                                        ('--', ':', '-.')):
            ax.axvline(value, color='black', linestyle=style, linewidth=1,
                       label=f'{name} {value:.3f}')
            lows.append(value)
        ax.set_xlim(max(0.0, min(lows) - 0.05), None)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(metric)
        ax.grid(axis='x', alpha=0.3)
        if references.get(metric):
            ax.legend(fontsize=8, loc='lower center', ncol=3,
                      bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    plt.close(fig)


def plot_detections(config: str, checkpoint: str, images: Sequence[str],
                    out_file: str, score_thr: float = 0.3) -> None:
    """Run a detector on ``images`` and draw its boxes, class and score.

    Args:
        config (str): the detector's (plain) config.
        checkpoint (str): its checkpoint.
        images (Sequence[str]): image paths (a grid of up to 3 columns).
        out_file (str): PNG path.
        score_thr (float): boxes below this score are not drawn.
    """
    from mmdet.apis import inference_detector, init_detector
    model = init_detector(config, checkpoint, device='cpu')
    classes = model.dataset_meta['classes']
    cols = min(3, len(images))
    rows = (len(images) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, path in zip(axes.flat, images):
        pred = inference_detector(model, path).pred_instances
        keep = pred.scores >= score_thr
        ax.imshow(plt.imread(path))
        for box, label, score in zip(pred.bboxes[keep].tolist(),
                                     pred.labels[keep].tolist(),
                                     pred.scores[keep].tolist()):
            x0, y0, x1, y1 = box
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                       color='lime', linewidth=1.5))
            ax.text(x0, y0, f'{classes[label]} {score:.2f}', color='black',
                    fontsize=8, va='bottom',
                    bbox=dict(facecolor='lime', alpha=0.8, pad=1, lw=0))
        ax.set_title(osp.basename(path), fontsize=9)
    fig.suptitle(f'{osp.basename(config)}: detections with score >= '
                 f'{score_thr}')
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
