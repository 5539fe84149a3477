"""Record what a student computes inside its own ``loss()``.

The distiller runs the student's loss once and reads the intermediate
results it needs (FPN features, RoI logits and sampler labels, anchor
targets) from the calls the student made, instead of recomputing them.
"""
import inspect
from contextlib import contextmanager
from typing import Any, Iterable, Optional


class CallRecorder:
    """Wraps one method of one object; while active, keeps its last call.

    ``CallRecorder(head, 'get_targets')`` replaces ``head.get_targets`` on
    that instance only (the class and other instances are untouched). The
    wrapped method behaves exactly as before; while :attr:`active`, each
    call stores ``(arguments by name, result)``, read back with :meth:`pop`.
    """

    def __init__(self, owner: Any, name: str) -> None:
        self.name = f'{type(owner).__name__}.{name}'
        self.method = getattr(owner, name)
        # inspect.signature(recorder) is the wrapped method's
        self.signature = self.__signature__ = inspect.signature(self.method)
        self.active = False
        self.record: Optional[tuple] = None
        setattr(owner, name, self)

    def __call__(self, *args, **kwargs) -> Any:
        result = self.method(*args, **kwargs)
        if self.active:
            bound = self.signature.bind(*args, **kwargs)
            self.record = (dict(bound.arguments), result)
        return result

    def pop(self) -> tuple:
        """``(arguments, result)`` of the last recorded call, then forget it."""
        if self.record is None:
            raise RuntimeError(
                f'{self.name} was not called during the student loss; the '
                'distiller cannot read its inputs from this detector')
        record, self.record = self.record, None
        return record


@contextmanager
def recording(recorders: Iterable[CallRecorder]):
    """Activate ``recorders`` (dropping stale records) inside the block."""
    recorders = list(recorders)
    for recorder in recorders:
        recorder.active, recorder.record = True, None
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.active = False
