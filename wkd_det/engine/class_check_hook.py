"""Check the training dataset's classes against the distiller's."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from .utils import distiller_of


@HOOKS.register_module()
class DistillClassCheckHook(Hook):
    """Before training, refuse a dataset whose class names or their order
    differ from those the teacher checkpoint was trained on
    (``meta['dataset_meta']['classes']``, when present) or from those of a
    WKD-L cost-matrix file (see
    :meth:`~wkd_det.models.DetectionDistiller.check_dataset_classes`)."""
    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        classes = runner.train_dataloader.dataset.metainfo.get('classes')
        if classes is None:
            raise ValueError(f'{type(self).__name__}: the train dataset has '
                             "no metainfo['classes'] to check")
        distiller_of(runner, type(self).__name__).check_dataset_classes(
            classes)
