"""A small COCO-format detection dataset made from scikit-learn's digits.

``sklearn.datasets.load_digits`` holds 1797 real 8x8 scans of handwritten
digits. Each image here is a cluttered canvas (smooth colour texture, pixel
noise, distractor strokes) with 3-8 digits pasted at small, medium and large
scales, slightly rotated, in an ink colour that contrasts with the local
background; boxes may overlap a little. A box is the tight extent of the
digit's pasted ink. Classes come in shuffled rounds of all ten, so they are
balanced and a split with ten boxes or more has every class. Train and val
draw from disjoint sets of scans (a stratified split per class). Everything
comes from one seed, so the same arguments give byte-identical files.

Layout under ``out_dir``::

    train/000001.png ...   val/000001.png ...
    annotations/train.json annotations/val.json

Category ids are ``digit + 1`` (COCO ids start at 1) with names '0'..'9'.
Each annotation also keeps ``scan_id``, the index of its scan in
``load_digits``.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

DIGIT_CLASSES = tuple(str(d) for d in range(10))

# Digit heights (px at image_size=192) of the small / medium / large bins
# and their probabilities.
SIZE_BINS = ((10, 24), (26, 52), (56, 96))
SIZE_PROBS = (0.35, 0.45, 0.2)
INK_THR = 0.2  # alpha below this is dropped, so the box is the visible ink


def split_scans(targets: np.ndarray, val_fraction: float,
                rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Stratified split of scan indices into disjoint (train, val) sets."""
    train, val = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(targets == digit))
        num_val = max(1, int(round(len(idx) * val_fraction)))
        val.append(idx[:num_val])
        train.append(idx[num_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float canvas in [0, 1]: tinted smooth texture."""
    base = rng.uniform(0.15, 0.85, size=3)
    grid = rng.normal(0, 0.12, size=(size // 16 + 2, size // 16 + 2, 3))
    texture = np.stack([
        np.asarray(
            Image.fromarray(grid[..., c].astype(np.float32)).resize(
                (size, size), Image.Resampling.BICUBIC)) for c in range(3)
    ], -1)
    fine = rng.normal(0, 0.03, size=(size, size, 3))
    return np.clip(base + texture + fine, 0, 1)


def _draw_strokes(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lines, arcs and ellipse outlines as clutter; returns a new canvas."""
    size = img.shape[0]
    pil = Image.fromarray((img * 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(3, 11))):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        width = int(rng.integers(1, 4))
        pts = rng.uniform(0, size, size=4)
        x0, x1 = sorted(pts[:2])
        y0, y1 = sorted(pts[2:])
        kind = rng.integers(3)
        if kind == 0:
            draw.line([(pts[0], pts[2]), (pts[1], pts[3])], fill=color,
                      width=width)
        elif kind == 1:
            start = float(rng.uniform(0, 360))
            draw.arc([x0, y0, x1 + 1, y1 + 1], start,
                     start + float(rng.uniform(60, 270)), fill=color,
                     width=width)
        else:
            draw.ellipse([x0, y0, x1 + 1, y1 + 1], outline=color,
                         width=width)
    return np.asarray(pil, dtype=np.float64) / 255


def _glyph(scan: np.ndarray, height: int,
           rng: np.random.Generator) -> np.ndarray:
    """8x8 scan (values 0..16) to an (h, w) ink alpha, zero outside ink."""
    width = max(4, int(round(height * rng.uniform(0.7, 1.05))))
    img = Image.fromarray((scan / 16).astype(np.float32))
    img = img.resize((width, height), Image.Resampling.BICUBIC)
    img = img.rotate(float(rng.uniform(-15, 15)), Image.Resampling.BILINEAR,
                     expand=True)
    alpha = np.clip(np.asarray(img, dtype=np.float64), 0, 1)
    alpha[alpha < INK_THR] = 0
    rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
    return alpha[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _ink_color(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB colour whose luminance differs from the patch's by >= 0.35."""
    lum = float(patch.mean())
    target = rng.uniform(0, max(0.0, lum - 0.35)) if lum > 0.5 else \
        rng.uniform(min(1.0, lum + 0.35), 1)
    color = np.clip(target + rng.normal(0, 0.15, size=3), 0, 1)
    return np.clip(color - color.mean() + target, 0, 1)


def _overlap(box: Sequence[int], boxes: List[Sequence[int]]) -> float:
    """Largest intersection / smaller-area between ``box`` and ``boxes``.

    Boxes are (x, y, w, h) in pixels.
    """
    x, y, w, h = box
    worst = 0.0
    for bx, by, bw, bh in boxes:
        iw = min(x + w, bx + bw) - max(x, bx)
        ih = min(y + h, by + bh) - max(y, by)
        if iw > 0 and ih > 0:
            worst = max(worst, iw * ih / min(w * h, bw * bh))
    return worst


def render_image(scans: np.ndarray, pools: Sequence[np.ndarray],
                 digits: Sequence[int], image_size: int, max_overlap: float,
                 rng: np.random.Generator) -> Tuple[np.ndarray, List[Dict]]:
    """One canvas and its instances.

    Args:
        scans (np.ndarray): (S, 8, 8) digit scans, values in [0, 16].
        pools (Sequence[np.ndarray]): per digit, the scan indices this split
            may use.
        digits (Sequence[int]): the digits to try to place.
        image_size (int): canvas side in pixels.
        max_overlap (float): largest allowed intersection over the smaller
            box area with an already placed digit.
        rng (np.random.Generator): the only source of randomness.

    Returns:
        tuple: (image_size, image_size, 3) uint8 RGB image and a list of
        dicts with ``bbox`` (x, y, w, h), ``digit`` and ``scan_id``, one per
        digit that found a free spot.
    """
    img = _draw_strokes(_background(image_size, rng), rng)
    scale = image_size / 192
    instances = []
    for digit in digits:
        scan_id = int(rng.choice(pools[digit]))
        size_bin = int(rng.choice(len(SIZE_BINS), p=SIZE_PROBS))
        for attempt in range(30):
            if attempt == 15:  # crowded canvas: fall back to a small digit
                size_bin = 0
            lo, hi = SIZE_BINS[size_bin]
            height = int(round(rng.uniform(lo, hi) * scale))
            alpha = _glyph(scans[scan_id], max(6, height), rng)
            h, w = alpha.shape
            if h >= image_size or w >= image_size:
                continue
            x = int(rng.integers(0, image_size - w + 1))
            y = int(rng.integers(0, image_size - h + 1))
            box = (x, y, w, h)
            if _overlap(box, [i['bbox'] for i in instances]) <= max_overlap:
                break
        else:
            continue
        region = img[y:y + h, x:x + w]
        color = _ink_color(region, rng)
        a = alpha[..., None]
        img[y:y + h, x:x + w] = region * (1 - a) + color * a
        instances.append(
            {'bbox': box, 'digit': digit, 'scan_id': scan_id})
    img = np.clip(img + rng.normal(0, 0.02, size=img.shape), 0, 1)
    return (img * 255 + 0.5).astype(np.uint8), instances


def _write_split(out_dir: str, split: str, num_images: int, pool: np.ndarray,
                 scans: np.ndarray, labels: np.ndarray, image_size: int,
                 digits_per_image: Tuple[int, int], max_overlap: float,
                 img_format: str, rng: np.random.Generator) -> Dict:
    """Render one split's images and write its COCO json; returns counts."""
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    pools = [pool[labels[pool] == d] for d in range(10)]
    queue = []  # digits still to place: shuffled rounds of all ten classes
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        num_digits = int(rng.integers(digits_per_image[0],
                                      digits_per_image[1] + 1))
        while len(queue) < num_digits:
            queue.extend(int(d) for d in rng.permutation(10))
        img, instances = render_image(scans, pools, queue[:num_digits],
                                      image_size, max_overlap, rng)
        placed = [inst['digit'] for inst in instances]
        missed = list(queue[:num_digits])
        for digit in placed:
            missed.remove(digit)
        queue = missed + queue[num_digits:]
        file_name = f'{image_id:06d}.{img_format}'
        Image.fromarray(img).save(osp.join(out_dir, split, file_name))
        images.append(
            {'id': image_id, 'file_name': file_name, 'width': image_size,
             'height': image_size})
        for inst in instances:
            x, y, w, h = inst['bbox']
            annotations.append(
                {'id': len(annotations) + 1, 'image_id': image_id,
                 'category_id': inst['digit'] + 1, 'bbox': [x, y, w, h],
                 'area': w * h, 'iscrowd': 0, 'scan_id': inst['scan_id']})
    categories = [
        {'id': d + 1, 'name': name, 'supercategory': 'digit'}
        for d, name in enumerate(DIGIT_CLASSES)
    ]
    ann_file = osp.join(out_dir, 'annotations', f'{split}.json')
    with open(ann_file, 'w') as f:
        json.dump({'images': images, 'annotations': annotations,
                   'categories': categories}, f)
    return {'ann_file': ann_file, 'img_dir': osp.join(out_dir, split),
            'num_images': len(images), 'num_boxes': len(annotations)}


def make_digits_coco(out_dir: str,
                     num_train: int = 600,
                     num_val: int = 150,
                     image_size: int = 192,
                     seed: int = 0,
                     digits_per_image: Tuple[int, int] = (3, 8),
                     max_overlap: float = 0.3,
                     val_fraction: float = 0.2,
                     img_format: str = 'png') -> Dict:
    """Generate the digits detection dataset under ``out_dir``.

    Args:
        out_dir (str): output root (created if missing).
        num_train (int): train images. Defaults to 600.
        num_val (int): val images. Defaults to 150.
        image_size (int): square image side in pixels; digit sizes scale
            with it. Defaults to 192.
        seed (int): seed of every random choice. Defaults to 0.
        digits_per_image (tuple[int, int]): inclusive range of digits per
            image (a digit that finds no free spot is dropped).
        max_overlap (float): largest intersection over the smaller box area
            between two digits. Defaults to 0.3.
        val_fraction (float): share of each class's scans kept for val.
        img_format (str): 'png' (default, lossless) or 'jpg'.

    Returns:
        dict: ``root``, ``classes`` and per split (``train``, ``val``) a
        dict with ``ann_file``, ``img_dir``, ``num_images``, ``num_boxes``.
    """
    from sklearn.datasets import load_digits

    assert img_format in ('png', 'jpg'), img_format
    assert 1 <= digits_per_image[0] <= digits_per_image[1], digits_per_image
    digits = load_digits()
    train_rng, val_rng, split_rng = [
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    ]
    train_pool, val_pool = split_scans(digits.target, val_fraction, split_rng)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    summary = {'root': out_dir, 'classes': DIGIT_CLASSES}
    for split, num, pool, rng in (('train', num_train, train_pool, train_rng),
                                  ('val', num_val, val_pool, val_rng)):
        summary[split] = _write_split(out_dir, split, num, pool,
                                      digits.images, digits.target,
                                      image_size, digits_per_image,
                                      max_overlap, img_format, rng)
    return summary
