"""Input checks shared by the loss functions."""
from typing import Iterable

import torch


def finite_flags(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """(n,) bool tensor: whether each tensor is free of NaN and inf, left on
    the device, so that one host read can check them all."""
    return torch.stack([torch.isfinite(t).all() for t in tensors])


def check_finite(loss_name: str, **tensors: torch.Tensor) -> None:
    """Raise ``ValueError`` naming ``loss_name`` if any tensor has NaN or inf.

    A non-finite teacher or student output would otherwise turn the whole
    distillation loss, and then the student's weights, into NaN. One host
    sync per call, whatever the number of tensors (a GPU stalls at each).
    """
    finite = finite_flags(tensors.values())
    if bool(finite.all()):
        return
    for (arg, tensor), ok in zip(tensors.items(), finite.tolist()):
        if not ok:
            bad = int((~torch.isfinite(tensor)).sum())
            raise ValueError(f'{loss_name}: {arg} has {bad} non-finite '
                             f'value(s) (NaN or inf) out of {tensor.numel()}')


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in float32, or unchanged if it is already float32/float64:
    losses are never computed in half precision."""
    if tensor.dtype in (torch.float32, torch.float64):
        return tensor
    return tensor.float()
