"""Object crops of a COCO-format detection split: the image-classification
data that stands in for ImageNet when a backbone is pretrained
(``tools/pretrain_backbone.py``).

Each epoch draws new crop windows, so the classifier sees every object at
several contexts:

- an **object crop** is a square window centred on a ground-truth box
  (centre jittered by up to ``jitter`` of the box side), whose side is the
  box's longer side times a context factor drawn from ``context``; its
  label is the box's category index;
- a **background crop** is a square window (side drawn like an object
  crop's, from the split's own box sizes) that covers at most
  ``max_bg_overlap`` of any box and is itself covered by boxes for at most
  ``max_bg_overlap`` of its area; its label is ``num_classes``.

Window parts outside the image are filled with the ImageNet mean colour,
which the detectors' data preprocessor maps to 0, its own padding value.
Every crop is resized to ``size`` x ``size``.
"""
import json
import os.path as osp
from typing import List, Tuple

import numpy as np
from PIL import Image

#: RGB fill outside the image: the mean the detector configs normalise by
PAD_RGB = (124, 116, 104)


class ObjectCrops:
    """Crops of one split of a COCO-format set with the layout
    ``<root>/annotations/<split>.json`` and ``<root>/<split>/``.

    Images are decoded once and kept in memory (the sets this serves are
    small: the digits set is 600 train images of 192 px).

    Args:
        root (str): dataset root.
        split (str): 'train' or 'val'.
        size (int): side of the square crops in pixels.
        context (tuple[float, float]): range of the crop side over the box's
            longer side.
        jitter (float): largest centre shift, as a fraction of the box side.
        bg_per_image (float): background crops per image and epoch (their
            share of all crops is about bg_per_image / (boxes per image +
            bg_per_image)).
        max_bg_overlap (float): largest share of a box inside a background
            window, and of the window covered by boxes.
    """

    def __init__(self, root: str, split: str = 'train', size: int = 64,
                 context: Tuple[float, float] = (1.1, 1.6),
                 jitter: float = 0.1, bg_per_image: float = 1.0,
                 max_bg_overlap: float = 0.1) -> None:
        ann_file = osp.join(root, 'annotations', f'{split}.json')
        if not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'{ann_file} not found: ObjectCrops needs a COCO-format set '
                f'with annotations/{split}.json and {split}/ under {root}')
        with open(ann_file) as f:
            coco = json.load(f)
        cats = sorted(c['id'] for c in coco['categories'])
        self.classes = [c['name'] for c in sorted(coco['categories'],
                                                  key=lambda c: c['id'])]
        self.num_classes = len(cats)
        label_of = {cat: i for i, cat in enumerate(cats)}
        self.size, self.context, self.jitter = size, context, jitter
        self.bg_per_image, self.max_bg_overlap = bg_per_image, max_bg_overlap
        self.images: List[np.ndarray] = []
        index = {}
        for info in coco['images']:
            index[info['id']] = len(self.images)
            path = osp.join(root, split, info['file_name'])
            self.images.append(np.asarray(Image.open(path).convert('RGB')))
        boxes = [[] for _ in self.images]
        for ann in coco['annotations']:
            if ann.get('iscrowd', 0) or min(ann['bbox'][2:]) < 1:
                continue
            boxes[index[ann['image_id']]].append(
                (*ann['bbox'], label_of[ann['category_id']]))
        self.boxes = [np.asarray(b, dtype=np.float64).reshape(-1, 5)
                      for b in boxes]
        self.num_objects = sum(len(b) for b in self.boxes)
        if self.num_objects == 0:
            raise ValueError(f'{ann_file} has no boxes to crop')
        sides = np.concatenate([b[:, 2:4].max(1) for b in self.boxes])
        self._sides = sides[sides > 0]

    def sample(self, rng: np.random.Generator) -> Tuple[np.ndarray,
                                                          np.ndarray]:
        """One epoch of crops: ``(N, size, size, 3)`` uint8 RGB and ``(N,)``
        int64 labels (``num_classes`` = background), objects first."""
        crops, labels = [], []
        for img, boxes in zip(self.images, self.boxes):
            for x, y, w, h, label in boxes:
                side = max(w, h) * rng.uniform(*self.context)
                cx = x + w / 2 + rng.uniform(-1, 1) * self.jitter * w
                cy = y + h / 2 + rng.uniform(-1, 1) * self.jitter * h
                crops.append(self._crop(img, cx, cy, side))
                labels.append(int(label))
        for i in rng.permutation(len(self.images)):
            count = int(self.bg_per_image) + int(
                rng.random() < self.bg_per_image % 1)
            for _ in range(count):
                window = self._background_window(i, rng)
                if window is not None:
                    crops.append(self._crop(self.images[i], *window))
                    labels.append(self.num_classes)
        return np.stack(crops), np.asarray(labels, dtype=np.int64)

    def _background_window(self, i: int, rng: np.random.Generator,
                           tries: int = 20):
        """``(cx, cy, side)`` of a window with little object in it, or None
        if ``tries`` draws found none."""
        img, boxes = self.images[i], self.boxes[i]
        height, width = img.shape[:2]
        for _ in range(tries):
            side = min(rng.choice(self._sides) * rng.uniform(*self.context),
                       min(height, width))
            x0 = rng.uniform(0, width - side)
            y0 = rng.uniform(0, height - side)
            iw = np.clip(np.minimum(x0 + side, boxes[:, 0] + boxes[:, 2]) -
                         np.maximum(x0, boxes[:, 0]), 0, None)
            ih = np.clip(np.minimum(y0 + side, boxes[:, 1] + boxes[:, 3]) -
                         np.maximum(y0, boxes[:, 1]), 0, None)
            inter = iw * ih
            if (inter <= self.max_bg_overlap * boxes[:, 2] * boxes[:, 3]).all()\
                    and inter.sum() <= self.max_bg_overlap * side * side:
                return x0 + side / 2, y0 + side / 2, side
        return None

    def _crop(self, img: np.ndarray, cx: float, cy: float,
              side: float) -> np.ndarray:
        """The square window centred at (cx, cy), :data:`PAD_RGB` outside the
        image, resized to ``size`` x ``size``."""
        side = max(1, round(side))
        x0, y0 = round(cx - side / 2), round(cy - side / 2)
        height, width = img.shape[:2]
        window = np.empty((side, side, 3), np.uint8)
        window[:] = PAD_RGB
        ix0, iy0 = max(x0, 0), max(y0, 0)
        ix1, iy1 = min(x0 + side, width), min(y0 + side, height)
        if ix1 > ix0 and iy1 > iy0:
            window[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = img[iy0:iy1, ix0:ix1]
        return np.asarray(Image.fromarray(window).resize(
            (self.size, self.size), Image.Resampling.BILINEAR))
