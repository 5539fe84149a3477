"""wkd_det: Wasserstein knowledge distillation for MMDetection 3.x.

``import wkd_det`` (what ``custom_imports = dict(imports=['wkd_det'])`` does)
registers every wkd_det component in MMDetection's registries.
"""
from . import losses  # noqa: F401  registers the losses in MODELS
from .version import __version__

__all__ = ['__version__']
