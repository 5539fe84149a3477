"""The synthetic digits detection dataset."""
import json
import os.path as osp

import numpy as np
from PIL import Image
from pycocotools.coco import COCO
from sklearn.datasets import load_digits

from wkd_det.datasets import DIGIT_CLASSES, make_digits_coco
from wkd_det.datasets.digits_coco import _glyph


def _load(root, split):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def test_same_seed_gives_identical_files(tiny_digits, tmp_path):
    make_digits_coco(str(tmp_path), num_train=8, num_val=4, seed=0)
    for split in ('train', 'val'):
        name = osp.join('annotations', f'{split}.json')
        with open(tiny_digits / name, 'rb') as a, \
                open(tmp_path / name, 'rb') as b:
            assert a.read() == b.read()
    with open(tiny_digits / 'train' / '000001.png', 'rb') as a, \
            open(tmp_path / 'train' / '000001.png', 'rb') as b:
        assert a.read() == b.read()


def test_other_seed_differs(tiny_digits, tmp_path):
    make_digits_coco(str(tmp_path), num_train=8, num_val=4, seed=1)
    assert _load(tiny_digits, 'train') != _load(tmp_path, 'train')


def test_boxes_inside_images_and_not_degenerate(tiny_digits):
    for split in ('train', 'val'):
        data = _load(tiny_digits, split)
        images = {img['id']: img for img in data['images']}
        assert data['annotations']
        for ann in data['annotations']:
            img = images[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert w >= 4 and h >= 4
            assert x >= 0 and y >= 0
            assert x + w <= img['width'] and y + h <= img['height']
            assert ann['area'] == w * h and ann['iscrowd'] == 0


def test_glyph_box_is_tight():
    """Pasted ink reaches every edge of its box; a box is the ink's extent."""
    scans = load_digits().images
    rng = np.random.default_rng(0)
    for scan in scans[:20]:
        alpha = _glyph(scan, int(rng.integers(10, 96)), rng)
        assert alpha.min() >= 0 and alpha.max() <= 1
        assert alpha[0].any() and alpha[-1].any()
        assert alpha[:, 0].any() and alpha[:, -1].any()


def test_images_match_annotations(tiny_digits):
    data = _load(tiny_digits, 'train')
    for img in data['images']:
        pixels = np.asarray(Image.open(tiny_digits / 'train' / img['file_name']))
        assert pixels.shape == (img['height'], img['width'], 3)
        anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
        assert 1 <= len(anns) <= 8


def test_classes_and_categories(tiny_digits):
    data = _load(tiny_digits, 'train')
    assert [c['name'] for c in data['categories']] == list(DIGIT_CLASSES)
    assert DIGIT_CLASSES == tuple(str(d) for d in range(10))
    present = {a['category_id'] for a in data['annotations']}
    assert present == {c['id'] for c in data['categories']}


def test_train_val_use_disjoint_scans(tiny_digits):
    train = {a['scan_id'] for a in _load(tiny_digits, 'train')['annotations']}
    val = {a['scan_id'] for a in _load(tiny_digits, 'val')['annotations']}
    assert train and val and not train & val


def test_pycocotools_loads(tiny_digits):
    for split, num_images in (('train', 8), ('val', 4)):
        coco = COCO(str(tiny_digits / 'annotations' / f'{split}.json'))
        assert len(coco.getImgIds()) == num_images
        assert len(coco.getCatIds()) == 10
        for img in coco.loadImgs(coco.getImgIds()):
            assert osp.isfile(tiny_digits / split / img['file_name'])
