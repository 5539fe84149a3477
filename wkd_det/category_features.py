"""Per-category teacher features for the category cost matrix of WKD-L.

A frozen detector runs over a dataset and, for each of its K + 1 categories
(the dataset's classes, then background, MMDetection's order), keeps a random
sample of up to ``n`` feature vectors taken at the input of its classification
layer:

- two-stage detectors (``StandardRoIHead`` with an ``fc_cls`` bbox head): the
  RoI feature of every ground-truth box (its class) and of every RPN proposal
  that the R-CNN assigner (``train_cfg.rcnn.assigner``, e.g. IoU with all
  ground truth below ``neg_iou_thr``) makes a negative (background);
- anchor heads (``AnchorHead.get_targets``, e.g. RetinaNet): the classification
  branch's feature at each location with a positive anchor of a class (once per
  class), and at locations whose anchors are all negatives (background);
  ignored and out-of-image anchors count for neither.

Sampling is bottom-k: each candidate draws a key from one seeded generator and
a category keeps the ``n`` candidates with the smallest keys, a uniform sample
without replacement from the whole stream in O((K + 1) n d) memory. Only
candidates that can still enter the sample go through the RoI head. The
pairing-free interrelations use each category's sample as it is
(``CategorySampler.feats``, counts may differ); only the paired CKA needs
the equal-n :meth:`CategorySampler.stack`.
"""
import copy
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Tuple

import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures.bbox import get_box_tensor
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData
from mmengine.utils import ProgressBar
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

# Names of the classification conv of the anchor heads we support.
DENSE_CLS_LAYERS = ('retina_cls', 'conv_cls')


class CategorySampler:
    """Uniform sample of up to ``capacity`` vectors per category of a stream.

    Args:
        num_categories (int): K + 1, background included.
        capacity (int): n, the most vectors kept per category.
        seed (int): seed of the keys (and of :meth:`stack`'s top-up draws).
    """

    def __init__(self, num_categories: int, capacity: int, seed: int) -> None:
        self.capacity = capacity
        self.generator = torch.Generator().manual_seed(seed)
        self.seen = torch.zeros(num_categories, dtype=torch.long)
        self.keys = [torch.empty(0, dtype=torch.float64)] * num_categories
        self.feats: List[Tensor] = [None] * num_categories

    @property
    def counts(self) -> List[int]:
        """Vectors kept per category."""
        return [len(k) for k in self.keys]

    def propose(self, labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Draw keys for (m,) candidate labels.

        Returns:
            tuple: (m',) indices of the candidates that can enter the sample
            and their (m',) keys, to pass to :meth:`add` with the features.
        """
        labels = labels.cpu()
        self.seen += torch.bincount(labels, minlength=len(self.seen))
        keys = torch.rand(len(labels), generator=self.generator,
                          dtype=torch.float64)
        keep = torch.zeros(len(labels), dtype=torch.bool)
        for c in labels.unique().tolist():
            index = (labels == c).nonzero()[:, 0]
            pool = torch.cat([self.keys[c], keys[index]])
            if len(pool) > self.capacity:
                bound = pool.kthvalue(self.capacity).values
                index = index[keys[index] <= bound]
            keep[index] = True
        index = keep.nonzero()[:, 0]
        return index, keys[index]

    def add(self, labels: Tensor, keys: Tensor, feats: Tensor) -> None:
        """Merge (m',) candidates with their (m', d) features."""
        labels, feats = labels.cpu(), feats.detach().float().cpu()
        for c in labels.unique().tolist():
            mask = labels == c
            keys_c, feats_c = keys[mask], feats[mask]
            if self.feats[c] is not None:
                keys_c = torch.cat([self.keys[c], keys_c])
                feats_c = torch.cat([self.feats[c], feats_c])
            order = keys_c.argsort()[:self.capacity]
            self.keys[c], self.feats[c] = keys_c[order], feats_c[order]

    def stack(self, n: int) -> Tensor:
        """(K + 1, n, d) features: the first n of each category's sample.

        For interrelations that pair samples across categories (the paired
        CKA); the pairing-free ones read :attr:`feats` directly. A category
        with fewer than n is topped up by drawing its own vectors again, with
        replacement. Every category needs at least one vector.
        """
        out = []
        for feats in self.feats:
            if len(feats) < n:
                extra = torch.randint(len(feats), (n - len(feats), ),
                                      generator=self.generator)
                feats = torch.cat([feats, feats[extra]])
            out.append(feats[:n])
        return torch.stack(out)


@contextmanager
def recorded_inputs(layer: nn.Module) -> Iterator[List[Tensor]]:
    """Within the block, the list of the first input of each ``layer`` call."""
    inputs = []
    handle = layer.register_forward_pre_hook(
        lambda module, args: inputs.append(args[0]))
    try:
        yield inputs
    finally:
        handle.remove()


def classifier_input_name(teacher: nn.Module) -> str:
    """Dotted name of the layer whose input is the category feature.

    Refuses a detector this module does not know how to label.
    """
    roi_head = getattr(teacher, 'roi_head', None)
    if roi_head is not None:
        if not isinstance(roi_head, StandardRoIHead) or not isinstance(
                getattr(roi_head.bbox_head, 'fc_cls', None), nn.Linear):
            raise ValueError(
                'two-stage teachers need a StandardRoIHead whose bbox_head '
                f'has a linear fc_cls; got {type(roi_head).__name__}')
        if getattr(teacher, 'rpn_head', None) is None:
            raise ValueError('two-stage teachers need an rpn_head for the '
                             'background proposals')
        if getattr(roi_head, 'bbox_assigner', None) is None:
            raise ValueError('the teacher config has no train_cfg.rcnn '
                             'assigner to tell background proposals')
        return 'roi_head.bbox_head.fc_cls'
    head = getattr(teacher, 'bbox_head', None)
    if isinstance(head, AnchorHead) and \
            type(head).get_targets is AnchorHead.get_targets:
        for name in DENSE_CLS_LAYERS:
            if isinstance(getattr(head, name, None), nn.Conv2d):
                if getattr(head, 'assigner', None) is None:
                    raise ValueError('the teacher config has no train_cfg '
                                     'assigner for its bbox_head')
                return f'bbox_head.{name}'
    raise ValueError(
        f'{type(teacher).__name__} with {type(head).__name__}: only '
        'StandardRoIHead two-stage detectors and anchor heads using '
        f'AnchorHead.get_targets with one of {DENSE_CLS_LAYERS} are supported')


def _two_stage_step(teacher: nn.Module, x: Sequence[Tensor], data_samples,
                    sampler: CategorySampler) -> None:
    """Offer one batch's gt boxes and background proposals to the sampler."""
    roi_head = teacher.roi_head
    background = roi_head.bbox_head.num_classes
    proposals = teacher.rpn_head.predict(x, data_samples, rescale=False)
    gts, gts_ignore, _ = unpack_gt_instances(data_samples)
    rois, labels = [], []
    for i, (props, gt, gt_ignore) in enumerate(
            zip(proposals, gts, gts_ignore)):
        assigned = roi_head.bbox_assigner.assign(
            InstanceData(priors=props.bboxes), gt, gt_ignore)
        bg_boxes = props.bboxes[assigned.gt_inds == 0]
        boxes = torch.cat([get_box_tensor(gt.bboxes), bg_boxes])
        rois.append(torch.cat([boxes.new_full((len(boxes), 1), i), boxes], 1))
        labels.append(torch.cat([gt.labels, gt.labels.new_full(
            (len(bg_boxes), ), background)]))
    labels = torch.cat(labels).cpu()
    index, keys = sampler.propose(labels)
    if len(index) == 0:
        return
    with recorded_inputs(roi_head.bbox_head.fc_cls) as feats:
        roi_head._bbox_forward(x, torch.cat(rois)[index.to(x[0].device)])
    sampler.add(labels[index], keys, feats[0])


def _dense_step(teacher: nn.Module, x: Sequence[Tensor], data_samples,
                sampler: CategorySampler, layer: nn.Module) -> None:
    """Offer one batch's positive and negative locations to the sampler."""
    head = teacher.bbox_head
    background = head.num_classes
    with recorded_inputs(layer) as level_feats:
        cls_scores = head(x)[0]
    gts, gts_ignore, img_metas = unpack_gt_instances(data_samples)
    anchors, valid = head.get_anchors(
        [s.shape[-2:] for s in cls_scores], img_metas, device=x[0].device)
    level_labels, level_weights = head.get_targets(
        anchors, valid, gts, img_metas, gts_ignore)[:2]
    # rows of `feats`: level, then image, then location (y * W + x)
    feats = torch.cat([f.flatten(2).transpose(1, 2).flatten(0, 1)
                       for f in level_feats])
    rows, labels, offset = [], [], 0
    for feat, lab, weight in zip(level_feats, level_labels, level_weights):
        lab = lab.view(feat[:, 0].numel(), -1)  # (B * H * W, A)
        counted = weight.view_as(lab) > 0
        pos = (lab < background) & counted
        # one candidate per (location, class) with a positive anchor
        pairs = (pos.nonzero()[:, 0] * (background + 1) + lab[pos]).unique()
        neg = ((lab == background) & counted).all(1).nonzero()[:, 0]
        rows.append(offset + torch.cat([pairs // (background + 1), neg]))
        labels.append(torch.cat([pairs % (background + 1),
                                 neg.new_full((len(neg), ), background)]))
        offset += len(lab)
    labels = torch.cat(labels).cpu()
    index, keys = sampler.propose(labels)
    sampler.add(labels[index], keys,
                feats[torch.cat(rows)[index.to(feats.device)]])


@torch.no_grad()
def collect_category_features(teacher: nn.Module, dataset: Dataset,
                              sampler: CategorySampler,
                              num_workers: int = 2,
                              progress: bool = True) -> None:
    """Run ``teacher`` (eval mode) over ``dataset``, one image a batch, into
    ``sampler``.

    The dataset's samples must carry ground-truth instances (boxes resized
    with the image, see :func:`feature_dataset_cfg`).
    """
    name = classifier_input_name(teacher)
    layer = teacher.get_submodule(name)
    teacher.eval()
    loader = DataLoader(dataset, batch_size=1, num_workers=num_workers,
                        collate_fn=pseudo_collate)
    bar = ProgressBar(len(dataset)) if progress else None
    for data in loader:
        data = teacher.data_preprocessor(data, False)
        x = teacher.extract_feat(data['inputs'])
        if name.startswith('roi_head'):
            _two_stage_step(teacher, x, data['data_samples'], sampler)
        else:
            _dense_step(teacher, x, data['data_samples'], sampler, layer)
        if bar is not None:
            bar.update()


def feature_dataset_cfg(cfg) -> dict:
    """The train split of ``cfg`` with its test pipeline and gt boxes.

    The test pipeline's ``LoadAnnotations`` (if any) is replaced by a
    box-loading one just after the image loading, so that resizing
    transforms the boxes with the image. Dataset wrappers (``RepeatDataset``
    and the like) are unwrapped.
    """
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    test_loader = cfg.get('test_dataloader') or cfg.val_dataloader
    test_pipeline = copy.deepcopy(test_loader.dataset.pipeline)
    pipeline = [t for t in test_pipeline
                if _type_name(t) != 'LoadAnnotations']
    first = next((i for i, t in enumerate(pipeline)
                  if _type_name(t).startswith('LoadImage')), 0)
    pipeline.insert(first + 1, dict(type='LoadAnnotations', with_bbox=True))
    dataset.pipeline = pipeline
    return dataset


def _type_name(transform: dict) -> str:
    kind = transform['type']
    return kind.split('.')[-1] if isinstance(kind, str) else kind.__name__
