"""Backbones pretrained as image classifiers on object crops: the stand-in
for ImageNet weights where none can be downloaded.

A detector backbone (MMDetection's own ``ResNet`` or ``MobileNetV2``,
built from the registry as a detector config builds it) gets a linear head
on its globally average-pooled last map and learns to tell the split's
categories plus one background class apart, from the crops of
:class:`wkd_det.datasets.ObjectCrops` (new crop windows every epoch). The
checkpoint holds the backbone alone, its keys prefixed ``backbone.``, so a
detector loads it as the COCO configs load ImageNet weights::

    backbone=dict(..., init_cfg=dict(type='Pretrained',
                                     checkpoint='<root>/pretrained/resnet18.pth',
                                     prefix='backbone.'))

Training: AdamW with a one-cycle learning rate (15 % warm-up, then cosine
decay), label smoothing 0.1, BN in training mode (batch 64); inputs
normalised as the detector configs normalise them (RGB, ImageNet mean and
std). AdamW was chosen over SGD on evidence: ResNet-18, 32 px crops, 2-3
epochs: SGD (lr 0.1, Nesterov) stayed at chance (val top-1 0.155), AdamW
reached 0.62. ``<out>.json`` beside the checkpoint records the settings,
the val top-1 and the time; :func:`ensure_pretrained` reuses a checkpoint
whose settings match.
"""
import json
import logging
import math
import os
import os.path as osp
import time
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.logging import MMLogger
from torch import nn

from .datasets.object_crops import ObjectCrops

#: backbone configs by architecture name; the stages are those of the
#: detector configs (an ``out_indices`` subset changes no weight)
ARCHS = {
    'resnet18': dict(type='ResNet', depth=18, out_indices=(3, )),
    'resnet50': dict(type='ResNet', depth=50, out_indices=(3, )),
    'mobilenetv2': dict(type='MobileNetV2', out_indices=(7, )),
}
#: RGB normalisation of the detector configs (MMDetection's ImageNet values)
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
#: settings of a pretraining run (and their defaults): a cached checkpoint
#: is reused only when all of them match
DEFAULTS = dict(epochs=None, crop_size=32, batch_size=64, lr=3e-3,
                weight_decay=0.05, seed=0)
#: default epochs per architecture: a few minutes each on a 2-core CPU for
#: the 600-image digits split (measured times in docs/results.md); ResNet-50
#: learns slower: val crop top-1 0.774 at 6 epochs, 0.922 at 16 (ResNet-18
#: 0.884 at 8), and a Faster R-CNN teacher from the 6-epoch one trailed
#: its 6-epoch R18 student (0.499 against 0.532 bbox mAP)
DEFAULT_EPOCHS = {'resnet18': 8, 'resnet50': 16, 'mobilenetv2': 8}


def arch_of(backbone: dict) -> str:
    """The :data:`ARCHS` name of a detector's backbone config."""
    kind = backbone.get('type')
    name = (f'resnet{backbone.get("depth")}' if kind == 'ResNet' else
            'mobilenetv2' if kind == 'MobileNetV2' else None)
    if name not in ARCHS:
        raise ValueError(f'no crop pretraining for backbone {kind} '
                         f'(depth {backbone.get("depth")}); supported: '
                         f'{sorted(ARCHS)}')
    return name


def pretrained_path(data_root: str, arch: str) -> str:
    """Where the checkpoint of ``arch`` pretrained on ``data_root`` lives."""
    return osp.join(data_root, 'pretrained', f'{arch}.pth')


class CropClassifier(nn.Module):
    """A detector backbone plus a linear classifier on its pooled last map.

    Args:
        arch (str): a key of :data:`ARCHS`.
        num_classes (int): classes of the head (categories + background).
    """

    def __init__(self, arch: str, num_classes: int) -> None:
        super().__init__()
        self.backbone = MODELS.build(dict(ARCHS[arch]))
        # MMEngine logs every parameter's initialisation at INFO
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            self.backbone.init_weights()
        finally:
            logger.setLevel(level)
        with torch.no_grad():
            channels = self.backbone(torch.zeros(1, 3, 64, 64))[-1].shape[1]
        self.head = nn.Linear(channels, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) normalised images -> (B, num_classes) logits."""
        return self.head(self.backbone(images)[-1].mean((2, 3)))


def _to_tensor(crops: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) uint8 RGB -> (N, 3, S, S) float normalised."""
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    return (x - mean) / torch.tensor(STD).view(1, 3, 1, 1)


@torch.no_grad()
def evaluate(model: nn.Module, crops: np.ndarray, labels: np.ndarray,
             batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on the crops."""
    model.eval()
    correct = 0
    for i in range(0, len(labels), batch_size):
        logits = model(_to_tensor(crops[i:i + batch_size]))
        correct += int((logits.argmax(1) == torch.from_numpy(
            labels[i:i + batch_size])).sum())
    return correct / max(1, len(labels))


def pretrain_backbone(arch: str, data_root: str, out: str,
                      epochs: Optional[int] = None,
                      crop_size: int = DEFAULTS['crop_size'],
                      batch_size: int = DEFAULTS['batch_size'],
                      lr: float = DEFAULTS['lr'],
                      weight_decay: float = DEFAULTS['weight_decay'],
                      seed: int = DEFAULTS['seed'],
                      log: Callable[[str], None] = print) -> dict:
    """Train ``arch`` on the crops of ``data_root``'s train split and write
    its backbone to ``out`` (and the record to ``<out>.json``).

    Returns:
        dict: the record: ``arch``, ``data``, the settings, ``classes``,
        ``train_crops``, ``val_top1`` (None without a val split),
        ``time_s``.
    """
    if arch not in ARCHS:
        raise ValueError(f'arch must be one of {sorted(ARCHS)}, got {arch!r}')
    epochs = epochs or DEFAULT_EPOCHS[arch]
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = ObjectCrops(data_root, 'train', crop_size)
    has_val = osp.isfile(osp.join(data_root, 'annotations', 'val.json'))
    val = ObjectCrops(data_root, 'val', crop_size) if has_val else None
    model = CropClassifier(arch, train.num_classes + 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr,
                                  weight_decay=weight_decay)
    steps_per_epoch = math.ceil((train.num_objects + len(train.images) *
                                 train.bg_per_image) / batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, lr, total_steps=epochs * steps_per_epoch,
        pct_start=0.15)
    log(f'[pretrain] {arch} on {train.num_objects} objects of '
        f'{len(train.images)} train images ({train.num_classes} classes + '
        f'background), {crop_size} px crops, {epochs} epochs')
    train_crops = 0
    for epoch in range(1, epochs + 1):
        model.train()
        crops, labels = train.sample(rng)
        train_crops = len(labels)
        order = rng.permutation(len(labels))
        total_loss, correct = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            if len(idx) < 2:  # BN needs two samples
                continue
            target = torch.from_numpy(labels[idx])
            logits = model(_to_tensor(crops[idx]))
            loss = F.cross_entropy(logits, target, label_smoothing=0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == target).sum())
        log(f'[pretrain] {arch} epoch {epoch}/{epochs}: loss '
            f'{total_loss / len(labels):.3f}, train top-1 '
            f'{correct / len(labels):.3f} '
            f'({time.perf_counter() - start:.0f} s)')
    val_top1 = None
    if val is not None:
        val_top1 = evaluate(model, *val.sample(np.random.default_rng(0)))
        log(f'[pretrain] {arch} val top-1 {val_top1:.3f}')
    record = dict(arch=arch, data=osp.abspath(data_root), epochs=epochs,
                  crop_size=crop_size, batch_size=batch_size, lr=lr,
                  weight_decay=weight_decay, seed=seed, classes=train.classes,
                  train_crops=train_crops, val_top1=val_top1,
                  time_s=round(time.perf_counter() - start, 1))
    state = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(record)), out)
    with open(_record_path(out), 'w') as f:
        json.dump(record, f, indent=1)
    log(f'[pretrain] {arch}: {out} ({record["time_s"]:.0f} s)')
    return record


def pretraining_settings(arch: str, **settings) -> dict:
    """The settings a pretraining of ``arch`` runs with: :data:`DEFAULTS`
    updated by ``settings``, the epochs per architecture
    (:data:`DEFAULT_EPOCHS`) unless given."""
    wanted = dict(DEFAULTS, **settings)
    wanted['epochs'] = wanted['epochs'] or DEFAULT_EPOCHS[arch]
    return wanted


def ensure_pretrained(arch: str, data_root: str, out: Optional[str] = None,
                      log: Callable[[str], None] = print, **settings) -> str:
    """Path of ``arch`` pretrained on ``data_root`` with ``settings`` (see
    :data:`DEFAULTS`): the cached checkpoint when its record matches, else
    a new one from :func:`pretrain_backbone`."""
    out = out or pretrained_path(data_root, arch)
    wanted = pretraining_settings(arch, **settings)
    record = pretraining_record(out)
    if osp.isfile(out) and record is not None:
        if all(record.get(k) == v for k, v in wanted.items()):
            top1 = record['val_top1']
            log(f'[pretrain] reusing {out} (val top-1 '
                f'{"n/a" if top1 is None else f"{top1:.3f}"}, delete it to '
                'retrain)')
            return out
    pretrain_backbone(arch, data_root, out, log=log, **wanted)
    return out


def pretraining_record(checkpoint: str) -> Optional[dict]:
    """The record :func:`pretrain_backbone` wrote beside ``checkpoint``, or
    None when there is none."""
    path = _record_path(checkpoint)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _record_path(checkpoint: str) -> str:
    return osp.splitext(checkpoint)[0] + '.json'
