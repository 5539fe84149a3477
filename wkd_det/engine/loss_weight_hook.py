"""Schedule of the distillation loss weights during training."""
import math

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from .utils import distiller_of

SCHEDULES = ('constant', 'cosine')


@HOOKS.register_module()
class DistillLossWeightHook(Hook):
    """Scale the distillation terms of a ``DetectionDistiller``.

    Before each training iteration the model's ``loss_weight_scale`` is set
    to

        s(t) = 1                                         t < t0
        s(t) = r + (1 - r) * (1 + cos(pi * (t - t0) / (T - t0))) / 2  t >= t0

    for ``schedule='cosine'`` (s = 1 throughout for ``'constant'``), with
    t = ``runner.iter``, T = ``runner.max_iters``, t0 = ``start`` in epochs
    (``by_epoch=True``, times the iterations per epoch) or iterations, and
    r = ``min_ratio``. That is the cosine decay of lambda (WKD-L) and w_f
    (WKD-F) from a start epoch to the end of training; as in the authors'
    code, WKD-L's target term L_t keeps its weight (the distiller passes the
    scale to terms with a ``scheduled`` part and multiplies the others).
    The value depends only on the runner's position, so ``--resume``
    continues the schedule; it is logged as ``distill_weight``.

    Args:
        schedule (str): ``'constant'`` or ``'cosine'``.
        start (int): t0, in epochs if ``by_epoch`` else iterations.
        by_epoch (bool): unit of ``start``.
        min_ratio (float): r, the scale reached at the end of training.
    """
    priority = 'NORMAL'

    def __init__(self,
                 schedule: str = 'cosine',
                 start: int = 0,
                 by_epoch: bool = True,
                 min_ratio: float = 0.0) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f'DistillLossWeightHook: schedule must be one of '
                             f'{SCHEDULES}, got {schedule!r}')
        self.schedule, self.start = schedule, start
        self.by_epoch, self.min_ratio = by_epoch, min_ratio

    def scale(self, iteration: int, max_iters: int,
              iters_per_epoch: int = 1) -> float:
        """s(t) at ``iteration`` (see class docstring)."""
        start = self.start * iters_per_epoch if self.by_epoch else self.start
        if self.schedule == 'constant' or iteration < start:
            return 1.0
        progress = (iteration - start) / max(max_iters - start, 1)
        cosine = (1 + math.cos(math.pi * min(progress, 1.0))) / 2
        return self.min_ratio + (1 - self.min_ratio) * cosine

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        iters_per_epoch = runner.max_iters // max(runner.max_epochs, 1)
        scale = self.scale(runner.iter, runner.max_iters, iters_per_epoch)
        distiller_of(runner, type(self).__name__).loss_weight_scale = scale
        runner.message_hub.update_scalar('train/distill_weight', scale)
