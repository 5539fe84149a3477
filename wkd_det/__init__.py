"""wkd_det: Wasserstein knowledge distillation for MMDetection 3.x.

``import wkd_det`` (what ``custom_imports = dict(imports=['wkd_det'])`` does)
registers every wkd_det component in MMDetection's registries.
"""
from . import engine, losses, models  # noqa: F401  register wkd_det's components
from .checkpoint import register_checkpoint_safe_globals
from .version import __version__

register_checkpoint_safe_globals()

__all__ = ['__version__']
