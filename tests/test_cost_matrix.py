"""Cost-matrix files, the 'fc' fallback, per-category feature sampling and
tools/build_cost_matrix.py end to end on the tiny digits set."""
import contextlib
import json
import os
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from utils import (CONFIG_DIR, REPO_ROOT, digits_cfg_options, mmdet_tool,
                   run_tool, scratch_dir)

from wkd_det.category_features import (CategorySampler, classifier_input_name,
                                       feature_dataset_cfg)
from wkd_det.cost_matrix import (BACKGROUND, DEFAULT_INTERRELATION,
                                 INTERRELATIONS, build_interrelation,
                                 interrelation_names, load_cost_matrix,
                                 resolve_cost_matrix, save_cost_matrix)

CLASSES = ['cat', 'dog', BACKGROUND]
DIGITS = [str(d) for d in range(10)] + [BACKGROUND]
TOOL = osp.join(REPO_ROOT, 'tools', 'build_cost_matrix.py')
TEACHERS = {
    'faster-rcnn': 'digits/faster-rcnn_r18_fpn_digits.py',
    'retinanet': 'digits/retinanet_r18_fpn_digits.py'
}


def digits_cfg(name, data_root=None):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, TEACHERS[name]))
    if data_root is not None:
        cfg.merge_from_dict(
            dict(opt.split('=', 1) for opt in digits_cfg_options(data_root)))
    return cfg


def build_detector(cfg):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def test_save_load_round_trip(tmp_path):
    cost = torch.tensor([[0.0, 0.3, 0.9], [0.3, 0.0, 0.8], [0.9, 0.8, 0.0]])
    path = str(tmp_path / 'cost.pth')
    save_cost_matrix(path, cost, CLASSES, dict(kappa=1.0, seen={'cat': 3}))
    data = load_cost_matrix(path)
    torch.testing.assert_close(data['cost'], cost)
    assert data['classes'] == CLASSES
    assert data['settings'] == dict(kappa=1.0, seen={'cat': 3})
    torch.testing.assert_close(
        resolve_cost_matrix(path, 3, classes=CLASSES), cost)


@pytest.mark.parametrize('cost, match', [
    (torch.zeros(2, 2), r'cost matrix is \(2, 2\), expected \(3, 3\)'),
    (torch.tensor([[0.0, -0.1, 1], [1, 0, 1], [1, 1, 0]]), 'negative entries'),
    (torch.tensor([[0.0, float('nan'), 1], [1, 0, 1], [1, 1, 0]]),
     'non-finite entries'),
    (torch.tensor([[0.0, float('inf'), 1], [1, 0, 1], [1, 1, 0]]),
     'non-finite entries'),
])
def test_bad_matrices_refused(tmp_path, cost, match):
    path = str(tmp_path / 'cost.pth')
    with pytest.raises(ValueError, match=match):
        save_cost_matrix(path, cost, CLASSES)
    # a file written by other means is refused on load as well
    torch.save(dict(cost=cost, classes=CLASSES), path)
    with pytest.raises(ValueError, match=match):
        load_cost_matrix(path)


def test_file_of_the_earlier_tool_still_loads(tmp_path):
    """Files written before --interrelation (settings 'linear CKA', one n)."""
    path = str(tmp_path / 'old.pth')
    cost = 1 - torch.eye(3)
    torch.save(dict(cost=cost, classes=CLASSES,
                    settings=dict(interrelation='linear CKA', samples_used=4,
                                  kappa=1.0)), path)
    assert load_cost_matrix(path)['settings']['interrelation'] == 'linear CKA'
    torch.testing.assert_close(
        resolve_cost_matrix(path, 3, classes=CLASSES), cost)


def test_interrelation_registry():
    assert DEFAULT_INTERRELATION == 'second-moment'
    assert interrelation_names()[0] == DEFAULT_INTERRELATION
    assert set(interrelation_names()) >= {'second-moment', 'class-mean',
                                          'paired-cka'}
    g = torch.Generator().manual_seed(0)
    uneven = [torch.randn(n, 5, generator=g) for n in (3, 7, 2)]
    for name in ('second-moment', 'class-mean'):
        ir = build_interrelation(name)(uneven)
        assert ir.shape == (3, 3) and bool((ir.diagonal() == 1).all())
    assert build_interrelation('paired-cka').equal_counts
    with pytest.raises(ValueError, match='same number of samples'):
        build_interrelation('paired-cka')(uneven)
    with pytest.raises(ValueError, match="unknown interrelation 'cka'"):
        build_interrelation('cka')

    @INTERRELATIONS.register_module('test-identity')
    def identity(feats):
        return torch.eye(len(feats), dtype=torch.float64)

    try:
        assert 'test-identity' in interrelation_names()
        assert build_interrelation('test-identity')(uneven).shape == (3, 3)
    finally:
        INTERRELATIONS._module_dict.pop('test-identity')


def test_file_checked_against_the_detector(tmp_path):
    path = str(tmp_path / 'cost.pth')
    save_cost_matrix(path, 1 - torch.eye(3), CLASSES)
    with pytest.raises(ValueError, match=r'is \(3, 3\), expected \(4, 4\)'):
        resolve_cost_matrix(path, 4)
    with pytest.raises(ValueError, match='class names do not match'):
        resolve_cost_matrix(path, 3, classes=['cat', 'cow', BACKGROUND])
    torch.save(dict(matrix=1 - torch.eye(3)), path)
    with pytest.raises(ValueError, match="expected a dict with keys 'cost'"):
        load_cost_matrix(path)


class MakeDirOnLoad:
    """Unpickling this calls ``os.mkdir``: a stand-in for arbitrary code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def test_pickled_object_refused_not_executed(tmp_path):
    marker = str(tmp_path / 'executed')
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(cost=1 - torch.eye(3), classes=CLASSES,
                    settings=dict(payload=MakeDirOnLoad(marker))), path)
    with pytest.raises(ValueError, match='weights_only load refused'):
        load_cost_matrix(path)
    assert not osp.exists(marker)


@pytest.mark.parametrize('name', sorted(TEACHERS))
def test_fc_cost_of_built_teachers(name):
    teacher = build_detector(digits_cfg(name))
    cost = resolve_cost_matrix('fc', 11, teacher=teacher, kappa=1.0)
    assert cost.shape == (11, 11)
    assert bool((cost.diagonal() == 0).all())
    assert bool(((cost >= 0) & (cost <= 1)).all())
    off = ~torch.eye(11, dtype=torch.bool)
    assert bool((cost[off] >= 1e-8).all())
    torch.testing.assert_close(cost, cost.t())


def test_sampler_is_bottom_k_of_the_stream():
    """Chunked proposing/adding keeps exactly, per category, the n candidates
    with the smallest keys of the whole stream (keys drawn in stream order)."""
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(4, (300, ), generator=g)
    labels[labels == 3] = 2  # category 3 never appears
    feats = torch.arange(300, dtype=torch.float32)[:, None].repeat(1, 2)
    sampler = CategorySampler(4, 10, seed=5)
    for start in range(0, 300, 37):
        chunk = slice(start, start + 37)
        index, keys = sampler.propose(labels[chunk])
        sampler.add(labels[chunk][index], keys, feats[chunk][index])
    keys = torch.rand(300, generator=torch.Generator().manual_seed(5),
                      dtype=torch.float64)
    for c in range(3):
        ids = (labels == c).nonzero()[:, 0]
        expected = ids[keys[ids].argsort()[:10]]
        assert sampler.feats[c][:, 0].long().tolist() == expected.tolist()
    assert sampler.counts == [10, 10, 10, 0]
    assert sampler.seen.tolist() == torch.bincount(labels, minlength=4).tolist()


def test_sampler_stack_tops_up_with_replacement():
    sampler = CategorySampler(2, 8, seed=0)
    labels = torch.tensor([0] * 8 + [1] * 3)
    index, keys = sampler.propose(labels)
    feats = torch.randn(11, 4)
    sampler.add(labels[index], keys, feats[index])
    stacked = sampler.stack(5)
    assert stacked.shape == (2, 5, 4)
    own = {tuple(row.tolist()) for row in feats[8:]}
    assert {tuple(row.tolist()) for row in stacked[1]} == own  # all 3 kept
    assert stacked[0].unique(dim=0).shape[0] == 5  # no repeats when enough


def test_feature_dataset_resizes_gt_with_the_image(tiny_digits):
    cfg = digits_cfg('faster-rcnn', tiny_digits)
    cfg.test_dataloader.dataset.pipeline[1].scale = (384, 384)
    dataset_cfg = feature_dataset_cfg(cfg)
    assert [t['type'] for t in dataset_cfg.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'Resize', 'PackDetInputs']
    init_default_scope('mmdet')
    sample = DATASETS.build(dataset_cfg)[0]['data_samples']
    with open(osp.join(tiny_digits, 'annotations', 'train.json')) as f:
        anns = json.load(f)['annotations']
    boxes = torch.tensor(
        [a['bbox'] for a in anns if a['image_id'] == sample.img_id],
        dtype=torch.float32)
    boxes[:, 2:] += boxes[:, :2]
    torch.testing.assert_close(sample.gt_instances.bboxes.tensor, 2 * boxes)


def test_teacher_without_assigner_refused():
    cfg = digits_cfg('retinanet')
    cfg.model.train_cfg = None
    with pytest.raises(ValueError, match='no train_cfg assigner'):
        classifier_input_name(build_detector(cfg))


@pytest.fixture(scope='module')
def built_cost(tiny_digits, tmp_path_factory):
    """``built_cost(name, interrelation=None)``: (config, checkpoint, cost
    file, plot, stdout) of one tool run with a random-init digits teacher
    (``--interrelation`` left at its default when None), made once each."""
    runs, checkpoints = {}, {}
    scratch = contextlib.ExitStack()

    def build(name, interrelation=None):
        key = name, interrelation
        if key not in runs:
            root = scratch.enter_context(
                scratch_dir(tmp_path_factory, f'cost_{name}'))
            config = osp.join(CONFIG_DIR, TEACHERS[name])
            if name not in checkpoints:
                checkpoints[name] = str(root / 'teacher.pth')
                teacher = build_detector(Config.fromfile(config))
                torch.save({'state_dict': teacher.state_dict(), 'meta': {}},
                           checkpoints[name])
            checkpoint = checkpoints[name]
            out, plot = str(root / 'cost.pth'), str(root / 'cost.png')
            chosen = () if interrelation is None else ('--interrelation',
                                                       interrelation)
            proc = run_tool(TOOL, config, checkpoint, '--out', out, '--plot',
                            plot, '--samples-per-class', 6, '--min-samples',
                            3, '--seed', 1, *chosen, '--cfg-options',
                            *digits_cfg_options(tiny_digits))
            runs[key] = config, checkpoint, out, plot, proc.stdout
        return runs[key]

    with scratch:
        yield build


@pytest.mark.parametrize('name, interrelation', [
    ('faster-rcnn', None), ('retinanet', None), ('faster-rcnn', 'paired-cka')])
def test_tool_end_to_end(built_cost, name, interrelation):
    _, _, out, plot, stdout = built_cost(name, interrelation)
    data = load_cost_matrix(out)
    cost, settings = data['cost'], data['settings']
    assert data['classes'] == DIGITS
    assert cost.shape == (11, 11)
    assert bool((cost.diagonal() == 0).all())
    assert bool(((cost >= 0) & (cost <= 1)).all())
    assert osp.getsize(plot) > 0
    assert settings['samples_per_class'] == 6 and settings['seed'] == 1
    layer = 'roi_head.bbox_head.fc_cls' if name == 'faster-rcnn' \
        else 'bbox_head.retina_cls'
    assert settings['feature'] == f'input of {layer}'
    assert settings['num_images'] == 8
    assert set(settings['seen']) == set(DIGITS)
    used = settings['samples_used']
    assert list(used) == DIGITS
    assert settings['interrelation'] == (interrelation or 'second-moment')
    assert f'interrelation: {settings["interrelation"]}' in stdout
    if interrelation == 'paired-cka':  # one n, topped up with replacement
        assert len(set(used.values())) == 1
        assert 3 <= used[BACKGROUND] <= 6
    else:  # every kept sample, no top-up
        assert settings['topped_up'] == []
        assert used == {category: min(seen, 6)
                        for category, seen in settings['seen'].items()}
    assert 'closest category pairs' in stdout


def test_tool_names_categories_without_samples(built_cost, tiny_digits):
    config, checkpoint, _, _, _ = built_cost('faster-rcnn')
    with pytest.raises(AssertionError, match=r"no samples of categories \['"):
        run_tool(TOOL, config, checkpoint, '--out', 'cost.pth',
                 '--max-images', 1, '--cfg-options',
                 *digits_cfg_options(tiny_digits))


def test_distiller_trains_with_the_built_file(built_cost, tiny_digits,
                                              tmp_path):
    teacher_config, checkpoint, out, _, _ = built_cost('faster-rcnn')
    config = osp.join(CONFIG_DIR, 'digits',
                      'wkd-lf_faster-rcnn_r50_to_r18_digits.py')
    proc = run_tool(
        mmdet_tool('train'), config, '--work-dir', tmp_path, '--cfg-options',
        *digits_cfg_options(tiny_digits, num_train_images=4, config=config),
        'train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
        f'model.teacher_config={teacher_config}',
        f'model.teacher_ckpt={checkpoint}',
        f'model.distill_losses.loss_wkd_l.cost={out}')
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][2/2]' in log and 'loss_wkd_l:' in log
    assert (tmp_path / 'epoch_1.pth').is_file()
