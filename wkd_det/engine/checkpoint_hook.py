"""Keep the distiller's own weights in checkpoints, beside the student's."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import weights_to_cpu

from .utils import distiller_of

#: checkpoint key of ``DetectionDistiller.distiller_state_dict()``
CHECKPOINT_KEY = 'wkd_distiller'


@HOOKS.register_module()
class DistillerCheckpointHook(Hook):
    """Save and restore a distiller's projectors with the checkpoint.

    A ``DetectionDistiller`` checkpoint's ``state_dict`` is a plain student
    state dict; the projectors go to ``checkpoint['wkd_distiller']``
    (``before_save_checkpoint``) and come back from it on ``load_from`` or
    ``--resume`` (``after_load_checkpoint``, which the runner calls before
    it loads the model and the optimizer). Plain student checkpoints have no
    such key and leave the projectors as they are.
    """
    priority = 'NORMAL'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        distiller = distiller_of(runner, type(self).__name__)
        checkpoint[CHECKPOINT_KEY] = weights_to_cpu(
            distiller.distiller_state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if CHECKPOINT_KEY in checkpoint:
            distiller = distiller_of(runner, type(self).__name__)
            distiller.load_distiller_state_dict(checkpoint[CHECKPOINT_KEY])
