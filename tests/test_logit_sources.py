"""The LOGIT_SOURCES registry: lookup by head class, most specific wins."""
import os.path as osp

import pytest
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from utils import CONFIG_DIR

from wkd_det.models.logit_sources import (LOGIT_SOURCES, AnchorHeadLogits,
                                          LogitSource, RoIHeadLogits,
                                          build_logit_source,
                                          find_logit_source)

register_all_modules()


def digits_detector(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'digits', f'{name}.py')).model
    cfg.backbone.init_cfg = None
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def detectors():
    return {name: digits_detector(f'{name}_r18_fpn_digits')
            for name in ('faster-rcnn', 'retinanet')}


def test_builtin_sources_are_found_by_head_class(detectors):
    assert find_logit_source(detectors['faster-rcnn']) is RoIHeadLogits
    assert find_logit_source(detectors['retinanet']) is AnchorHeadLogits


def test_a_user_source_for_a_subclass_wins_over_its_base(detectors):
    """A source registered for RetinaHead is more specific than the
    AnchorHead one, so it reads RetinaNet; removing it restores the base."""
    @LOGIT_SOURCES.register_module('RetinaHead')
    class RetinaHeadLogits(LogitSource):
        """A user's source."""

        def __init__(self, student, teacher):
            self.num_classes = student.bbox_head.num_classes + 1

    try:
        retinanet = detectors['retinanet']
        assert find_logit_source(retinanet) is RetinaHeadLogits
        source = build_logit_source(retinanet, retinanet)
        assert isinstance(source, RetinaHeadLogits)
        assert source.num_classes == 11
        # the two-stage detector is not affected
        assert find_logit_source(detectors['faster-rcnn']) is RoIHeadLogits
    finally:
        LOGIT_SOURCES.module_dict.pop('RetinaHead')
    assert find_logit_source(detectors['retinanet']) is AnchorHeadLogits


def test_a_source_that_refuses_the_head_is_not_replaced_by_a_base(detectors):
    """When the most specific source does not support the model, the lookup
    does not fall back to a more general one (it would misread the head)."""
    @LOGIT_SOURCES.register_module('RetinaHead')
    class Refusing(LogitSource):
        """Supports nothing."""

        @classmethod
        def supports(cls, model):
            return False

    try:
        assert find_logit_source(detectors['retinanet']) is None
        with pytest.raises(ValueError, match='no logit source reads the '
                           'student RetinaNet'):
            build_logit_source(detectors['retinanet'], detectors['retinanet'])
    finally:
        LOGIT_SOURCES.module_dict.pop('RetinaHead')
