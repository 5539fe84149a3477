"""DetectionDistiller: a student detector trained with a frozen teacher."""
import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.config import Config
from mmengine.logging import MessageHub, print_log
from torch import nn

from ..cost_matrix import BACKGROUND, final_roi_bbox_head, resolve_cost_matrix
from ..functional.checks import finite_flags
from .box_regions import box_regions, gt_rois
from .logit_sources import build_logit_source, sample_weights
from .normalization import same_normalization, to_teacher_normalization
from .recorder import CallRecorder, recording
from .teacher import build_teacher

#: options of a ``distill_losses`` entry that the distiller consumes
ATTACH_OPTIONS = {'logits': ('cost', 'neg_weight', 'neg_topk'),
                  'features': ('levels', 'projector', 'regions', 'box_size')}
#: what a feature term compares: whole maps or ground-truth box crops
REGIONS = ('map', 'boxes')
#: side of the zero image ``extract_feat`` is probed on for each map's stride
#: and channels: a multiple of every power-of-two stride up to 256
PROBE_SIZE = 256


@MODELS.register_module()
class DetectionDistiller(BaseDetector):
    """Distils a frozen teacher detector into a student detector.

    ``loss()`` runs the student's own loss once, records what it computed
    (FPN features, classification logits and their targets, see
    :mod:`.logit_sources`), runs the teacher once without gradients on the
    same batch, and adds one entry per distillation term::

        losses = student.loss(...) + {name: scale * term(student, teacher)}

    ``scale`` is :attr:`loss_weight_scale` (1, or the value set by
    ``DistillLossWeightHook``); a term with a ``scheduled`` attribute (WKD-L:
    lambda only, L_t keeps its weight) gets it as ``schedule_scale``
    instead. Logit terms get a :class:`.logit_sources.LogitBatch` (softmax
    RoI logits, or sigmoid anchor logits normalised by the positives) with
    per-sample weights (:func:`.logit_sources.sample_weights`); feature
    terms get each selected student neck level and the teacher level of the
    same stride, the student's projected to the teacher's channels,
    averaged over levels, on each image's valid region only (the batch
    padding left out: one call per image when images are padded
    differently), or, with ``regions='boxes'``, one call on the crops
    of every ground-truth box from its level. ``predict`` and ``_forward``
    are the student's.

    The teacher is frozen, always in eval mode, and not a submodule: it is
    outside ``state_dict``, the optimizer and DDP, and follows the model in
    ``.to()`` / ``.cuda()`` / ``.cpu()``. If its data preprocessor
    normalises differently, its input is converted from the student's batch
    (see :mod:`.normalization`).

    ``state_dict()`` is the student's, named as the plain student names it,
    so checkpoints load into the plain student config; loading accepts those
    names. The projectors, trained with the student, are kept apart:
    :meth:`distiller_state_dict` (``DistillerCheckpointHook`` stores it in
    ``checkpoint['wkd_distiller']``).

    Bad input is refused with a ``ValueError`` naming the config key: at
    build (teacher checkpoint, class counts, levels, anchors, cost matrix),
    in ``DistillClassCheckHook`` (class names, see
    :meth:`check_dataset_classes`) and on the first step (maps of one
    stride but different sizes). Non-finite teacher outputs raise
    ``FloatingPointError`` with the iteration, before any loss uses them.

    Args:
        student (dict): config of the student detector.
        teacher_config (str | dict | Config): teacher config file,
            ``package::`` path (e.g.
            ``'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'``) or
            config with ``model``.
        teacher_ckpt (str): teacher checkpoint path or URL, loaded with
            ``weights_only=True`` (see :func:`.teacher.build_teacher`).
        distill_losses (dict): log name (must contain ``'loss'``) -> config
            of a registered loss with ``input_kind``. Options consumed here:
            ``cost`` (logit terms with ``set_cost``: ``'uniform'`` default,
            ``'fc'`` or a file, see :func:`wkd_det.cost_matrix.
            resolve_cost_matrix`), ``levels`` (feature terms: indices of
            student neck outputs, each paired with the teacher output of
            its stride; ``None`` = every student output whose stride the
            teacher has, see :func:`_neck_levels`) and ``projector``
            (feature terms: ``'conv'`` = learnable 1x1 conv per level,
            default, ``'conv_bn'`` = 1x1 conv + BN, or ``'identity'`` when
            the channel counts agree), ``regions`` (feature terms: ``'map'``,
            default, or ``'boxes'``: one ``box_size`` x ``box_size`` crop
            per ground-truth box from its FPN level, see
            :mod:`.box_regions`). An entry set to
            ``None`` is left out, so a derived config can drop a term.
        teacher_key_tolerance (int): how many missing, unexpected or
            reshaped teacher weights are accepted. Defaults to 0.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 student: dict,
                 teacher_config: Union[str, dict, Config],
                 teacher_ckpt: str,
                 distill_losses: Dict[str, dict],
                 teacher_key_tolerance: int = 0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not any(cfg is not None for cfg in distill_losses.values()):
            raise ValueError('DetectionDistiller: distill_losses is empty')
        self.student = MODELS.build(student)
        self.data_preprocessor = self.student.data_preprocessor
        # a plain attribute, not a submodule (see class docstring)
        teacher, self.teacher_classes = build_teacher(
            teacher_config, teacher_ckpt, teacher_key_tolerance)
        object.__setattr__(self, 'teacher', teacher)
        _check_num_classes(self.student, teacher, self.teacher_classes)
        self.same_normalization = same_normalization(
            self.data_preprocessor, self.teacher.data_preprocessor)
        self.loss_weight_scale = 1.0
        self.distill_losses = nn.ModuleDict()
        self.projectors = nn.ModuleDict()
        #: per feature term, ``(student level, teacher level, stride)``
        self.level_pairs: Dict[str, List[Tuple[int, int, int]]] = {}
        #: per role, ``(stride, channels)`` of each neck output, probed once
        self.neck_levels: Dict[str, List[Tuple[int, int]]] = {}
        self.regions: Dict[str, tuple] = {}
        self.negatives: Dict[str, tuple] = {}
        self.logit_source = None
        self.cost_files: Dict[str, str] = {}
        for name, cfg in distill_losses.items():
            if cfg is not None:
                self._add_term(name, dict(cfg))
        self.features = CallRecorder(self.student, 'extract_feat')
        self.recorders = [self.features]
        if self.logit_source is not None:
            self.recorders += list(self.logit_source.recorders)
        self._register_state_dict_hook(_student_state_only)
        self._register_load_state_dict_pre_hook(_from_student_state,
                                                with_module=True)

    def _add_term(self, name: str, cfg: dict) -> None:
        """Build one ``distill_losses`` entry and what it attaches to."""
        where = f'distill_losses.{name}'
        if 'loss' not in name:
            raise ValueError(f"{where}: the name must contain 'loss' (MMEngine "
                             'only optimises log entries named so)')
        options = {key: cfg.pop(key) for key in sum(ATTACH_OPTIONS.values(), ())
                   if key in cfg}
        if MODELS.get(cfg.get('type')) is None:
            raise ValueError(f'{where}: unknown loss type {cfg.get("type")!r} '
                             '(is wkd_det imported?)')
        term = MODELS.build(cfg)
        kind = getattr(term, 'input_kind', None)
        if kind not in ATTACH_OPTIONS:
            raise ValueError(f'{where}: {cfg["type"]} is not a distillation '
                             "loss (its input_kind must be 'logits' or "
                             "'features')")
        allowed = ATTACH_OPTIONS[kind]
        if kind == 'logits' and not hasattr(term, 'set_cost'):
            allowed = tuple(key for key in allowed if key != 'cost')
        for key in options:
            if key not in allowed:
                raise ValueError(f'{where}: option {key!r} does not apply to '
                                 f'{cfg["type"]}')
        if kind == 'logits':
            if self.logit_source is None:
                self.logit_source = build_logit_source(self.student,
                                                       self.teacher)
            self.negatives[name] = _negative_options(
                where, options.get('neg_weight',
                                   self.logit_source.default_neg_weight),
                options.get('neg_topk'))
            if hasattr(term, 'set_cost'):
                cost = options.get('cost', 'uniform')
                if isinstance(cost, str) and cost not in ('uniform', 'fc'):
                    self.cost_files[name] = cost
                term.set_cost(resolve_cost_matrix(
                    cost, self.logit_source.num_classes, teacher=self.teacher))
        else:
            self._attach_features(name, options.get('levels'),
                                  options.get('projector', 'conv'))
            self.regions[name] = _region_options(
                where, options.get('regions', 'map'),
                options.get('box_size', 7))
            channels = sorted({self.neck_levels['teacher'][j][1]
                               for _, j, _ in self.level_pairs[name]})
            if self.regions[name][0] == 'boxes' and len(channels) > 1:
                raise ValueError(f"{where}: regions='boxes' stacks the crops "
                                 'of all levels, so their teacher maps need '
                                 f'one channel count, got {channels}')
        self.distill_losses[name] = term

    def _attach_features(self, name: str, levels: Optional[List[int]],
                         projector: str) -> None:
        """Pair the student levels ``levels`` with the teacher levels of
        equal stride, finest first, and build one projector per pair."""
        where = f'distill_losses.{name}'
        if not self.neck_levels:
            self.neck_levels = {
                role: _neck_levels(getattr(self, role), role, where)
                for role in ('student', 'teacher')}
        student = self.neck_levels['student']
        teacher = self.neck_levels['teacher']
        teacher_level = {stride: j for j, (stride, _) in enumerate(teacher)}
        strides = (f'student strides {[stride for stride, _ in student]}, '
                   f'teacher {[stride for stride, _ in teacher]}')
        if levels is None:
            levels = [i for i, (stride, _) in enumerate(student)
                      if stride in teacher_level]
            if not levels:
                raise ValueError(f'{where}: the student and teacher necks '
                                 f'share no stride ({strides})')
        levels = list(levels)
        bad = [i for i in levels if not 0 <= i < len(student)]
        if bad or not levels:
            raise ValueError(f'{where}: levels {levels} are not neck outputs; '
                             f'the student has {len(student)} levels (valid '
                             f'indices 0..{len(student) - 1})')
        absent = [i for i in levels if student[i][0] not in teacher_level]
        if absent:
            raise ValueError(f'{where}: levels {absent} have strides the '
                             f'teacher neck lacks ({strides}); choose '
                             'student levels of a shared stride')
        pairs = sorted(((i, teacher_level[student[i][0]], student[i][0])
                        for i in levels), key=lambda pair: pair[2])
        self.level_pairs[name] = pairs
        self.projectors[name] = nn.ModuleList(
            _projector(projector, student[i][1], teacher[j][1], where)
            for i, j, _ in pairs)

    def loss(self, batch_inputs: torch.Tensor,
             batch_data_samples: SampleList) -> dict:
        """The student's losses plus one weighted entry per term."""
        with recording(self.recorders):
            losses = self.student.loss(batch_inputs, batch_data_samples)
        student_feats = self.features.pop()[1]
        with torch.no_grad():
            teacher_feats = self.teacher.extract_feat(
                self.teacher_inputs(batch_inputs))
        _check_finite('FPN features', teacher_feats)
        if self.logit_source is not None:
            logits = self.logit_source.collect(self.teacher, teacher_feats)
            _check_finite('logits', [logits.teacher_logits])
        scale = self.loss_weight_scale
        image_sizes = [sample.metainfo.get('img_shape')
                       for sample in batch_data_samples]
        for name, term in self.distill_losses.items():
            if name in losses:
                raise ValueError(f'distill_losses.{name}: the student already '
                                 'logs a loss of that name')
            term_scale = scale
            if term.input_kind == 'logits':
                inputs = logits.loss_inputs(
                    sample_weights(logits, *self.negatives[name]))
                if getattr(term, 'scheduled', None):
                    # the term scales its own scheduled part
                    inputs['schedule_scale'], term_scale = scale, 1.0
                loss = term(**inputs)
            else:
                level_pairs = self.level_pairs[name]
                _check_same_sizes(name, level_pairs, student_feats,
                                  teacher_feats)
                pairs = [(project(student_feats[i]), teacher_feats[j])
                         for (i, j, _), project in zip(level_pairs,
                                                       self.projectors[name])]
                regions, box_size = self.regions[name]
                if regions == 'boxes':
                    rois = gt_rois(batch_data_samples)
                    strides = [stride for *_, stride in level_pairs]
                    loss = term(*(box_regions(maps, rois, strides, box_size)
                                  for maps in zip(*pairs)))
                else:
                    loss = sum(_on_valid_region(term, s, t, image_sizes,
                                                batch_inputs.shape[-2:])
                               for s, t in pairs) / len(pairs)
            losses[name] = term_scale * loss
        return losses

    def check_dataset_classes(self, classes: Sequence[str]) -> None:
        """Refuse a dataset whose class names (in order) differ from the
        teacher checkpoint's or from a cost-matrix file's (background last).
        """
        classes = list(classes)
        if self.teacher_classes is not None and \
                self.teacher_classes != classes:
            diff = _first_differences(self.teacher_classes, classes)
            raise ValueError(
                f'teacher_ckpt: trained on {len(self.teacher_classes)} '
                f"classes (meta['dataset_meta']['classes']), the dataset has "
                f'{len(classes)} in another order or set; first differences '
                f'as (index, teacher, dataset): {diff}')
        for name, path in self.cost_files.items():
            try:
                resolve_cost_matrix(path, len(classes) + 1,
                                    classes=classes + [BACKGROUND])
            except ValueError as e:
                raise ValueError(f'distill_losses.{name}.cost: {e}') from e

    def teacher_inputs(self, batch_inputs: torch.Tensor) -> torch.Tensor:
        """The batch normalised as the teacher's preprocessor would."""
        if self.same_normalization:
            return batch_inputs
        return to_teacher_normalization(batch_inputs, self.data_preprocessor,
                                        self.teacher.data_preprocessor)

    def predict(self, batch_inputs: torch.Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        return self.student.predict(batch_inputs, batch_data_samples, rescale)

    def _forward(self, batch_inputs: torch.Tensor,
                 batch_data_samples: SampleList = None):
        return self.student._forward(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs: torch.Tensor):
        return self.student.extract_feat(batch_inputs)

    def distiller_state_dict(self) -> dict:
        """Weights trained besides the student (the projectors)."""
        return self.projectors.state_dict()

    def load_distiller_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`distiller_state_dict`. Weights saved by a distiller
        with other projectors (another config) are not loaded: a warning
        says so and the projectors keep their initialisation."""
        if set(state_dict) != set(self.distiller_state_dict()):
            print_log(
                'DetectionDistiller: the checkpoint holds distiller weights '
                f'{sorted(state_dict)}, this distiller has '
                f'{sorted(self.distiller_state_dict())}; the projectors keep '
                'their initialisation', logger='current', level=logging.WARNING)
            return
        self.projectors.load_state_dict(state_dict)

    def train(self, mode: bool = True) -> 'DetectionDistiller':
        """Set the student's mode; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        # .to() / .cuda() / .cpu() / .half() reach the teacher too
        self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)


def _num_classes(detector: nn.Module) -> Optional[int]:
    """``num_classes`` of a detector's RoI bbox head or dense head."""
    head = final_roi_bbox_head(detector) or getattr(detector, 'bbox_head',
                                                    None)
    return getattr(head, 'num_classes', None)


def _check_num_classes(student: nn.Module, teacher: nn.Module,
                       teacher_classes: Optional[List[str]]) -> None:
    """Refuse a student, teacher and teacher checkpoint whose class counts
    differ."""
    num_s, num_t = _num_classes(student), _num_classes(teacher)
    if num_s != num_t:
        raise ValueError(f'student has num_classes={num_s}, teacher_config '
                         f'{num_t}; distillation needs the same classes')
    if teacher_classes is not None and len(teacher_classes) != num_t:
        raise ValueError(f"teacher_ckpt: meta['dataset_meta']['classes'] "
                         f'has {len(teacher_classes)} classes, the teacher '
                         f'config num_classes={num_t}')


def _first_differences(a: Sequence[str], b: Sequence[str]) -> list:
    """Up to 5 ``(index, a[i], b[i])`` where the lists differ."""
    length = max(len(a), len(b))
    a, b = list(a) + [None] * length, list(b) + [None] * length
    return [(i, a[i], b[i]) for i in range(length) if a[i] != b[i]][:5]


def _region_options(where: str, regions: str, box_size: int) -> tuple:
    """Checked ``(regions, box_size)`` of a feature term."""
    if regions not in REGIONS:
        raise ValueError(f'{where}: regions must be one of {REGIONS}, got '
                         f'{regions!r}')
    if not (isinstance(box_size, int) and box_size >= 1):
        raise ValueError(f'{where}: box_size must be a positive int, got '
                         f'{box_size!r}')
    return regions, box_size


def _negative_options(where: str, neg_weight: float,
                      neg_topk: Optional[int]) -> tuple:
    """Checked ``(neg_weight, neg_topk)`` of a logit term."""
    if not float(neg_weight) >= 0:
        raise ValueError(f'{where}: neg_weight must be >= 0, got {neg_weight!r}')
    if neg_topk is not None and not (isinstance(neg_topk, int) and neg_topk > 0):
        raise ValueError(f'{where}: neg_topk must be a positive int or None, '
                         f'got {neg_topk!r}')
    return float(neg_weight), neg_topk


def _check_finite(what: str, tensors: Sequence[torch.Tensor]) -> None:
    """Refuse non-finite teacher outputs before a loss uses them."""
    if not bool(finite_flags(tensors).all()):
        iteration = MessageHub.get_current_instance().get_info('iter')
        raise FloatingPointError(
            f'teacher {what} are non-finite (NaN or inf) at iteration '
            f'{iteration}; the student was not updated with them. Check '
            'teacher_ckpt and the input normalisation.')


def _on_valid_region(term: nn.Module, student_feat: torch.Tensor,
                     teacher_feat: torch.Tensor, image_sizes: list,
                     input_size) -> torch.Tensor:
    """``term`` on the part of each image's map that covers the image, not
    the batch padding: one call when no image is padded at this level,
    else the mean of one call per image on its cropped maps."""
    height, width = student_feat.shape[-2:]
    valid = [(height, width) if size is None else
             (min(height, math.ceil(size[0] * height / input_size[0])),
              min(width, math.ceil(size[1] * width / input_size[1])))
             for size in image_sizes]
    if all(v == (height, width) for v in valid):
        return term(student_feat, teacher_feat)
    return sum(term(student_feat[i:i + 1, :, :h, :w],
                    teacher_feat[i:i + 1, :, :h, :w])
               for i, (h, w) in enumerate(valid)) / len(valid)


def _check_same_sizes(name: str, level_pairs: List[Tuple[int, int, int]],
                      student_feats, teacher_feats) -> None:
    """Refuse paired maps (one stride) whose spatial sizes differ."""
    for i, j, stride in level_pairs:
        size_s, size_t = student_feats[i].shape[-2:], teacher_feats[j].shape[-2:]
        if size_s != size_t:
            raise ValueError(
                f'distill_losses.{name}: the stride-{stride} maps are '
                f'{tuple(size_s)} in the student (level {i}), {tuple(size_t)} '
                f'in the teacher (level {j}); the necks round sizes '
                'differently: pad the input to a multiple of the largest '
                'stride (data_preprocessor.pad_size_divisor)')


def _neck_levels(detector: nn.Module, role: str,
                 where: str) -> List[Tuple[int, int]]:
    """``(stride, channels)`` of each map ``detector.extract_feat`` returns,
    probed on a (1, 3, PROBE_SIZE, PROBE_SIZE) zero image in eval mode
    without gradients (each module's training flag is restored)."""
    modes = [(module, module.training) for module in detector.modules()]
    image = next(detector.parameters()).new_zeros(1, 3, PROBE_SIZE,
                                                  PROBE_SIZE)
    detector.eval()
    with torch.no_grad():
        feats = detector.extract_feat(image)
    for module, mode in modes:
        module.training = mode
    if not (isinstance(feats, (tuple, list)) and feats and
            all(isinstance(f, torch.Tensor) and f.dim() == 4 for f in feats)):
        raise ValueError(f'{where}: feature terms need extract_feat to return '
                         f'a tuple of (B, C, H, W) maps; the {role} '
                         f'{type(detector).__name__} returns '
                         f'{type(feats).__name__}')
    return [(round(PROBE_SIZE / feat.size(-1)), feat.size(1))
            for feat in feats]


def _projector(kind: str, channels_s: int, channels_t: int,
               where: str) -> nn.Module:
    """A ``kind`` projector from ``channels_s`` to ``channels_t`` channels."""
    if kind == 'conv':
        return nn.Conv2d(channels_s, channels_t, 1)
    if kind == 'conv_bn':
        return nn.Sequential(nn.Conv2d(channels_s, channels_t, 1),
                             nn.BatchNorm2d(channels_t))
    if kind == 'identity':
        if channels_s != channels_t:
            raise ValueError(f"{where}: projector='identity' needs equal "
                             f'channels, student neck has {channels_s}, '
                             f'teacher neck {channels_t}')
        return nn.Identity()
    raise ValueError(f"{where}: projector must be 'conv', 'conv_bn' or "
                     f"'identity', got {kind!r}")


def _student_state_only(module, state_dict, prefix, local_metadata) -> None:
    """``state_dict`` hook: keep the student's entries, renamed
    ``student.x`` -> ``x``, and drop the rest (projectors), metadata too."""
    student = prefix + 'student.'
    for key in [k for k in state_dict if k.startswith(prefix)]:
        value = state_dict.pop(key)
        if key.startswith(student):
            state_dict[prefix + key[len(student):]] = value
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [k for k in metadata if k.startswith(prefix)]:
            entry = metadata.pop(key)
            if key + '.' == student:
                metadata[prefix[:-1]] = entry
            elif key.startswith(student):
                metadata[prefix + key[len(student):]] = entry


def _from_student_state(module, state_dict, prefix, *args) -> None:
    """``load_state_dict`` pre-hook, the inverse of
    :func:`_student_state_only`: plain student names get ``student.``; the
    projectors, absent from student checkpoints, keep their current values
    (``DistillerCheckpointHook`` restores them)."""
    keep = (prefix + 'student.', prefix + 'projectors.')
    for key in [k for k in state_dict if k.startswith(prefix)]:
        if not key.startswith(keep):
            state_dict[prefix + 'student.' + key[len(prefix):]] = \
                state_dict.pop(key)
    for key, value in module.projectors.state_dict().items():
        state_dict.setdefault(prefix + 'projectors.' + key, value)
