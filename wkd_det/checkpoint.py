"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` only unpickles tensors, containers and
allowlisted globals by default. Checkpoints written by MMEngine 0.10 also hold,
in ``message_hub`` (found with ``torch.serialization.
get_unsafe_globals_in_checkpoint`` and loading a 1-iteration checkpoint):

- ``mmengine.logging.history_buffer.HistoryBuffer`` (the logged scalars);
- numpy arrays and scalars: ``numpy.ndarray``, ``numpy.dtype``,
  ``numpy._core.multiarray._reconstruct`` and ``numpy._core.multiarray.
  scalar`` (named ``numpy.core.multiarray.*`` by numpy 1.x), and the concrete
  dtype classes met, float64 and int64 (``numpy.dtypes.Float64DType``,
  ``numpy.dtypes.Int64DType``);
- ``builtins.getattr``, through which pickle refers to the statistics methods
  ``HistoryBuffer.min`` / ``max`` / ``current`` / ``mean``. Allowing
  ``getattr`` itself would let a file reach any attribute of any allowed
  object, so that name is bound to :func:`_history_buffer_method`, which
  resolves only those four.

:func:`register_checkpoint_safe_globals` allowlists exactly these;
``import wkd_det`` calls it, so MMDetection's tools (which import wkd_det
through ``custom_imports``) can test and resume. Nothing else is loosened:
``weights_only`` stays True.
"""
import os
import pickle
import re
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
# How torch (and _history_buffer_method) name what they refuse.
_REFUSED_PATTERNS = (r'GLOBAL (\S+) was not an allowed global',
                     r'unsupported GLOBAL (\S+)', r'but got (.+)$',
                     r'unrecognized function (.+)$', r'refused (getattr.+)$')


def _history_buffer_method(obj: Any, name: str) -> Any:
    """``getattr`` limited to ``HistoryBuffer``'s statistics methods."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'refused getattr({obj!r}, {name!r})')


def register_checkpoint_safe_globals() -> None:
    """Allowlist what MMEngine checkpoints need for ``weights_only`` loads.

    A no-op on torch without ``add_safe_globals`` (< 2.4), where
    ``torch.load`` defaults to ``weights_only=False`` anyway.
    """
    serialization = torch.serialization
    if not hasattr(serialization, 'add_safe_globals'):
        return
    multiarray = np._core.multiarray if hasattr(np, '_core') \
        else np.core.multiarray
    numpy_globals = []
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        numpy_globals += [(multiarray._reconstruct, f'{module}._reconstruct'),
                          (multiarray.scalar, f'{module}.scalar')]
    serialization.add_safe_globals([
        HistoryBuffer,
        (_history_buffer_method, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        type(np.dtype(np.float64)),
        type(np.dtype(np.int64)),
        *numpy_globals,
    ])


def _refused_global(message: str) -> Optional[str]:
    """The refused global (or class, function) named in ``message``, or
    ``None`` when the file is not a pickle at all."""
    for pattern in _REFUSED_PATTERNS:
        match = re.search(pattern, message, re.MULTILINE)
        if match:
            return match.group(1)
    return None


def load_checkpoint_safely(path: Union[str, os.PathLike],
                           map_location: Any = 'cpu') -> Dict:
    """``torch.load(path, weights_only=True)`` with a clear refusal.

    Args:
        path (str | os.PathLike): checkpoint (or any ``torch.save``) file.
        map_location: as in ``torch.load``. Defaults to 'cpu'.

    Returns:
        The loaded object (a dict for checkpoints).

    Raises:
        ValueError: the file needs a global that is not allowlisted (the
            message names the file and the refused global), or it is not a
            readable ``torch.save`` file (truncated, another format).
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        refused = _refused_global(str(e))
        if refused is None:
            raise ValueError(f'{os.fspath(path)}: not a readable torch '
                             'checkpoint (not a pickle)') from e
        raise ValueError(
            f'{os.fspath(path)}: weights_only load refused {refused}; only '
            'tensors, containers and the globals allowlisted in '
            'wkd_det.checkpoint may appear.') from e
    except (RuntimeError, KeyError, EOFError) as e:
        raise ValueError(f'{os.fspath(path)}: not a readable torch checkpoint '
                         f'({type(e).__name__}: {e})') from e
