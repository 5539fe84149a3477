"""Backbone pretraining on object crops: the crops, the checkpoint, its
loading by a detector config's ``Pretrained`` init, the cache and the tool."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image
from utils import CONFIG_DIR, REPO_ROOT, run_tool

import wkd_det  # noqa: F401
from wkd_det.checkpoint import load_checkpoint_safely
from wkd_det.datasets.object_crops import PAD_RGB, ObjectCrops
from wkd_det.pretraining import (arch_of, ensure_pretrained, pretrain_backbone,
                                 pretrained_path)
from wkd_det.runs import pretrained_options

DIGITS = osp.join(CONFIG_DIR, 'digits')


def _boxes(root, split='train'):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def test_object_crops_labels_and_counts(tiny_digits):
    coco = _boxes(tiny_digits)
    crops = ObjectCrops(str(tiny_digits), size=24, bg_per_image=2)
    images, labels = crops.sample(np.random.default_rng(0))
    num_boxes = len(coco['annotations'])
    assert images.shape[1:] == (24, 24, 3) and images.dtype == np.uint8
    assert crops.num_classes == 10 and crops.classes == [str(d) for d in
                                                         range(10)]
    # objects first, in annotation order, labelled by category index
    expected = [a['category_id'] - 1 for a in coco['annotations']]
    assert labels[:num_boxes].tolist() == expected
    # then up to 2 background crops per image, labelled num_classes
    assert (labels[num_boxes:] == 10).all()
    assert 0 < len(labels) - num_boxes <= 2 * len(coco['images'])
    # a new draw gives other windows, the same draw the same windows
    again, _ = crops.sample(np.random.default_rng(0))
    other, _ = crops.sample(np.random.default_rng(1))
    assert np.array_equal(images, again) and not np.array_equal(images, other)


def test_object_crop_is_the_box_window(tiny_digits):
    """With no context and no jitter an object crop is the box itself."""
    coco = _boxes(tiny_digits)
    ann = coco['annotations'][0]
    image = next(i for i in coco['images'] if i['id'] == ann['image_id'])
    crops = ObjectCrops(str(tiny_digits), size=16, context=(1.0, 1.0),
                        jitter=0.0, bg_per_image=0)
    images, _ = crops.sample(np.random.default_rng(0))
    x, y, w, h = ann['bbox']
    side = max(w, h)
    x0, y0 = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    img = np.asarray(Image.open(osp.join(tiny_digits, 'train',
                                         image['file_name'])).convert('RGB'))
    window = np.empty((side, side, 3), np.uint8)
    window[:] = PAD_RGB
    for r in range(side):  # naive copy, pixel by pixel, inside the image
        for c in range(side):
            if 0 <= y0 + r < img.shape[0] and 0 <= x0 + c < img.shape[1]:
                window[r, c] = img[y0 + r, x0 + c]
    expected = np.asarray(Image.fromarray(window).resize(
        (16, 16), Image.Resampling.BILINEAR))
    assert np.array_equal(images[0], expected)


def test_background_crops_avoid_objects(tiny_digits):
    crops = ObjectCrops(str(tiny_digits), bg_per_image=3,
                        max_bg_overlap=0.1)
    rng = np.random.default_rng(0)
    for i, boxes in enumerate(crops.boxes):
        for _ in range(5):
            window = crops._background_window(i, rng)
            if window is None:
                continue
            cx, cy, side = window
            x0, y0 = cx - side / 2, cy - side / 2
            covered = 0.0
            for x, y, w, h, _ in boxes:  # naive overlap, box by box
                iw = max(0.0, min(x0 + side, x + w) - max(x0, x))
                ih = max(0.0, min(y0 + side, y + h) - max(y0, y))
                assert iw * ih <= 0.1 * w * h + 1e-9
                covered += iw * ih
            assert covered <= 0.1 * side * side + 1e-9


def test_crops_pad_outside_the_image(tiny_digits):
    crops = ObjectCrops(str(tiny_digits), size=8)
    crop = crops._crop(crops.images[0], -50.0, -50.0, 40.0)
    assert (crop == np.asarray(PAD_RGB, np.uint8)).all()


def test_crops_need_a_coco_split(tmp_path):
    with pytest.raises(FileNotFoundError, match='annotations/train.json'):
        ObjectCrops(str(tmp_path))


@pytest.fixture(scope='module')
def resnet18(tiny_digits, tmp_path_factory):
    """A ResNet-18 pretrained for one epoch on the tiny set's crops."""
    out = str(tmp_path_factory.mktemp('pretrain') / 'resnet18.pth')
    record = pretrain_backbone('resnet18', str(tiny_digits), out, epochs=1,
                               crop_size=32, log=lambda m: None)
    return out, record


def test_pretrain_writes_a_backbone_checkpoint(resnet18):
    out, record = resnet18
    ckpt = load_checkpoint_safely(out)  # weights_only loading
    assert ckpt['state_dict'] and all(
        k.startswith('backbone.') for k in ckpt['state_dict'])
    assert ckpt['meta']['arch'] == 'resnet18'
    with open(out[:-4] + '.json') as f:
        assert json.load(f) == record
    assert record['epochs'] == 1 and record['crop_size'] == 32
    assert 0.0 <= record['val_top1'] <= 1.0
    assert record['train_crops'] > 0 and record['time_s'] > 0


def test_detector_config_loads_the_pretrained_backbone(resnet18):
    """The digits student's ``init_cfg`` (type Pretrained, prefix
    'backbone.') loads exactly the pretrained weights; stage 1 is frozen and
    BN statistics stay fixed, as in MMDetection's ImageNet-pretrained
    configs."""
    out, _ = resnet18
    cfg = Config.fromfile(osp.join(DIGITS, 'faster-rcnn_r18_fpn_digits.py'))
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg.checkpoint = out
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = load_checkpoint_safely(out)['state_dict']
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, state[f'backbone.{key}'],
                                   msg=key)
    model.train()
    assert not any(p.requires_grad for p in model.backbone.layer1.parameters())
    assert all(p.requires_grad for p in model.backbone.layer2.parameters())
    assert not model.backbone.layer2[0].bn1.training


def test_ensure_pretrained_reuses_a_matching_checkpoint(tiny_digits, tmp_path):
    out = str(tmp_path / 'resnet18.pth')
    messages = []
    settings = dict(epochs=1, crop_size=32, log=messages.append)
    ensure_pretrained('resnet18', str(tiny_digits), out, **settings)
    mtime = os.stat(out).st_mtime_ns
    ensure_pretrained('resnet18', str(tiny_digits), out, **settings)
    assert os.stat(out).st_mtime_ns == mtime
    assert any('reusing' in m for m in messages)
    ensure_pretrained('resnet18', str(tiny_digits), out, epochs=1,
                      crop_size=24, log=messages.append)
    assert os.stat(out).st_mtime_ns != mtime  # other settings: retrained


def test_arch_names_and_errors():
    assert arch_of(dict(type='ResNet', depth=50)) == 'resnet50'
    assert arch_of(dict(type='MobileNetV2')) == 'mobilenetv2'
    with pytest.raises(ValueError, match='supported'):
        arch_of(dict(type='ResNet', depth=34))
    with pytest.raises(ValueError, match='arch must be one of'):
        pretrain_backbone('vgg', 'data', 'out.pth')


def test_pretrained_options_name_the_trained_backbone():
    """Plain configs set model.backbone, distillation configs the
    student's; both point at <data_root>/pretrained/<arch>.pth."""
    plain = pretrained_options(osp.join(DIGITS, 'retinanet_r18_fpn_digits.py'),
                               '/d')
    distill = pretrained_options(
        osp.join(DIGITS, 'wkd-lf_faster-rcnn_r50_to_r18_digits.py'), '/d')
    teacher = pretrained_options(
        osp.join(DIGITS, 'faster-rcnn_r50_fpn_digits.py'), '/d')
    assert plain == ['model.backbone.init_cfg.checkpoint='
                     f'{pretrained_path("/d", "resnet18")}']
    assert distill == ['model.student.backbone.init_cfg.checkpoint='
                       f'{pretrained_path("/d", "resnet18")}']
    assert teacher == ['model.backbone.init_cfg.checkpoint='
                       f'{pretrained_path("/d", "resnet50")}']


def test_pretrain_tool(tiny_digits, tmp_path):
    data = tmp_path / 'data'
    shutil.copytree(tiny_digits, data, ignore=shutil.ignore_patterns(
        'pretrained'))
    args = ['--data', str(data), '--arch', 'resnet18', '--epochs', '1',
            '--crop-size', '32']
    proc = run_tool(osp.join(REPO_ROOT, 'tools', 'pretrain_backbone.py'),
                    *args)
    assert 'epoch 1/1' in proc.stdout and 'val top-1' in proc.stdout
    assert osp.isfile(pretrained_path(str(data), 'resnet18'))
    proc = run_tool(osp.join(REPO_ROOT, 'tools', 'pretrain_backbone.py'),
                    *args)
    assert 'reusing' in proc.stdout
