"""What the hooks share."""
from mmengine.model import is_model_wrapper

from ..models import DetectionDistiller


def distiller_of(runner, hook: str) -> DetectionDistiller:
    """The runner's ``DetectionDistiller`` (unwrapped from DDP), or a
    ``TypeError`` naming ``hook``."""
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    if not isinstance(model, DetectionDistiller):
        raise TypeError(f'{hook} needs a DetectionDistiller model, got '
                        f'{type(model).__name__}')
    return model
