"""Category cost matrices for WKD-L: files, interrelations, the teacher
classifier, uniform.

A cost-matrix file is a ``torch.save``d dict, loadable with
``weights_only=True``::

    {'cost': Tensor (K, K), 'classes': list[str] (K names, background last
     for detectors), 'settings': dict (how it was made)}

``resolve_cost_matrix`` turns the ``cost`` option of a WKD-L term into the
(K, K) tensor: ``'uniform'`` (1 off the diagonal), ``'fc'`` (cosine similarity
of the teacher classifier's per-class weights, no data pass) or a file path.

``INTERRELATIONS`` names the category interrelations that
``tools/build_cost_matrix.py --interrelation`` can build a file from; add one
with ``@INTERRELATIONS.register_module('name')`` on a function that maps K
per-category (n_i, d) feature matrices to a (K, K) interrelation (1 on the
diagonal). A function that pairs samples across categories sets
``equal_counts = True`` and then receives the same n for every category.
"""
from typing import Optional, Sequence, Union

import torch
from mmengine.registry import Registry
from torch import Tensor, nn

from .checkpoint import load_checkpoint_safely
from .functional import (class_mean_interrelation, cosine_interrelation,
                         cost_from_interrelation, pairwise_linear_cka,
                         second_moment_interrelation, uniform_cost)

BACKGROUND = 'background'

INTERRELATIONS = Registry('WKD-L category interrelation')
DEFAULT_INTERRELATION = 'second-moment'


@INTERRELATIONS.register_module('second-moment')
def second_moment(feats: Sequence[Tensor]) -> Tensor:
    """Alignment of the uncentred feature second moments (the default); see
    :func:`wkd_det.functional.second_moment_interrelation`."""
    return second_moment_interrelation(feats)


@INTERRELATIONS.register_module('class-mean')
def class_mean(feats: Sequence[Tensor]) -> Tensor:
    """Cosine of the class-mean features; see
    :func:`wkd_det.functional.class_mean_interrelation`."""
    return class_mean_interrelation(feats)


@INTERRELATIONS.register_module('paired-cka')
def paired_cka(feats: Sequence[Tensor]) -> Tensor:
    """The authors' linear CKA, which pairs the k-th samples of two classes:
    order-dependent and nearly blind to the classes (see
    :func:`wkd_det.functional.pairwise_linear_cka`). Kept to reproduce them,
    not the default. Needs the same n per category."""
    counts = {len(x) for x in feats}
    if len(counts) != 1:
        raise ValueError('paired-cka needs the same number of samples in '
                         f'every category, got counts {[len(x) for x in feats]}')
    return pairwise_linear_cka(torch.stack(list(feats)))


paired_cka.equal_counts = True


def interrelation_names() -> list:
    """The registered interrelation names, the default first."""
    names = sorted(INTERRELATIONS.module_dict)
    return sorted(names, key=lambda name: name != DEFAULT_INTERRELATION)


def build_interrelation(name: str):
    """The registered interrelation function called ``name``."""
    fn = INTERRELATIONS.module_dict.get(name)
    if fn is None:
        raise ValueError(f'unknown interrelation {name!r}; registered: '
                         f'{interrelation_names()}')
    return fn


def save_cost_matrix(path: str, cost: torch.Tensor, classes: Sequence[str],
                     settings: Optional[dict] = None) -> None:
    """Write a cost-matrix file (see module docstring)."""
    validate_cost_matrix(cost, len(classes), source=path)
    torch.save(dict(cost=cost.detach().cpu().float(), classes=list(classes),
                    settings=dict(settings or {})), path)


def load_cost_matrix(path: str) -> dict:
    """Read a cost-matrix file with ``weights_only=True`` and check it."""
    data = load_checkpoint_safely(path)
    if not isinstance(data, dict) or 'cost' not in data or 'classes' not in data:
        raise ValueError(f'cost matrix file {path}: expected a dict with keys '
                         "'cost' and 'classes' (write it with "
                         'tools/build_cost_matrix.py)')
    validate_cost_matrix(data['cost'], len(data['classes']), source=path)
    return data


def validate_cost_matrix(cost: torch.Tensor, num_classes: int,
                         source: str = 'cost matrix') -> None:
    """Refuse a cost matrix that is not (K, K), finite and non-negative."""
    if not isinstance(cost, torch.Tensor):
        raise ValueError(f'{source}: the cost matrix must be a tensor, got '
                         f'{type(cost).__name__}')
    if cost.shape != (num_classes, num_classes):
        raise ValueError(f'{source}: cost matrix is {tuple(cost.shape)}, '
                         f'expected ({num_classes}, {num_classes})')
    if not bool(torch.isfinite(cost).all()):
        raise ValueError(f'{source}: cost matrix has non-finite entries')
    if bool((cost < 0).any()):
        raise ValueError(f'{source}: cost matrix has negative entries '
                         f'(min {float(cost.min()):.3g})')


#: classification layers of the dense heads ``cost='fc'`` reads, by name
#: (a ``ModuleList`` holds one conv per level, as in RTMDetSepBNHead)
DENSE_CLASSIFIERS = ('retina_cls', 'conv_cls', 'atss_cls', 'gfl_cls',
                     'rtm_cls')


def final_roi_bbox_head(detector: nn.Module) -> Optional[nn.Module]:
    """The RoI bbox head of a two-stage detector (a cascade's last stage,
    the one it predicts with), or None."""
    head = getattr(getattr(detector, 'roi_head', None), 'bbox_head', None)
    return head[-1] if isinstance(head, nn.ModuleList) else head


def classifier_weights(teacher: nn.Module) -> torch.Tensor:
    """(K, d) per-category weights of a detector's classification layer.

    Two-stage: the RoI bbox head's ``fc_cls`` (K = num_classes + 1, background
    last; a cascade's last stage). Dense heads: the classification conv (one of
    :data:`DENSE_CLASSIFIERS`), one vector per class over all priors and
    kernel taps (and levels, for one conv per level), and a zero vector for
    the appended background (interrelation 0 with every class).
    """
    fc_cls = getattr(final_roi_bbox_head(teacher), 'fc_cls', None)
    if isinstance(fc_cls, nn.Linear):
        return fc_cls.weight.detach()
    head = getattr(teacher, 'bbox_head', None)
    layer = next((getattr(head, name) for name in DENSE_CLASSIFIERS
                  if hasattr(head, name)), None)
    convs = list(layer) if isinstance(layer, nn.ModuleList) else [layer]
    if convs and all(isinstance(conv, nn.Conv2d) for conv in convs):
        num_classes = head.cls_out_channels
        per_class = torch.cat([
            conv.weight.detach().view(-1, num_classes, *conv.weight.shape[1:])
            .transpose(0, 1).flatten(1) for conv in convs], dim=1)
        return torch.cat([per_class, per_class.new_zeros(1, per_class.size(1))])
    raise ValueError(f"cost='fc' needs a teacher with a linear RoI "
                     f"classifier (roi_head.bbox_head.fc_cls) or a dense "
                     f"head classification conv ({', '.join(DENSE_CLASSIFIERS)}"
                     f'); {type(teacher).__name__} has neither')


def resolve_cost_matrix(spec: Union[str, torch.Tensor],
                        num_classes: int,
                        teacher: Optional[nn.Module] = None,
                        classes: Optional[Sequence[str]] = None,
                        kappa: float = 1.0) -> torch.Tensor:
    """The (K, K) cost matrix for a WKD-L term's ``cost`` option.

    Args:
        spec: ``'uniform'``, ``'fc'``, a cost-matrix file path, or a tensor.
        num_classes (int): K, the number of logit columns (background
            included).
        teacher (nn.Module, optional): the teacher detector, for ``'fc'``.
        classes (Sequence[str], optional): the K category names the detector
            uses (background last); a file whose names differ is refused.
        kappa (float): sharpness of ``M = 1 - exp(-kappa (1 - IR))`` for
            ``'fc'``.
    """
    if isinstance(spec, torch.Tensor):
        cost = spec.float()
    elif spec == 'uniform':
        cost = uniform_cost(num_classes)
    elif spec == 'fc':
        if teacher is None:
            raise ValueError("cost='fc' needs the teacher detector")
        weights = classifier_weights(teacher)
        cost = cost_from_interrelation(cosine_interrelation(weights), kappa)
    elif isinstance(spec, str):
        data = load_cost_matrix(spec)
        if classes is not None and list(data['classes']) != list(classes):
            diff = [(i, a, b) for i, (a, b) in enumerate(
                zip(data['classes'], classes)) if a != b][:5]
            raise ValueError(
                f'cost matrix file {spec}: its {len(data["classes"])} class '
                f'names do not match the detector\'s {len(classes)} '
                f'(first differences as (index, file, detector): {diff})')
        cost = data['cost'].float()
    else:
        raise ValueError("cost must be 'uniform', 'fc', a cost-matrix file "
                         f'path or a tensor, got {spec!r}')
    validate_cost_matrix(cost, num_classes,
                         source=spec if isinstance(spec, str) else 'cost')
    return cost
