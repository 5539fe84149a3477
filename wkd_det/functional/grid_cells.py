"""The G x G grid of cells that WKD-F takes statistics on.

Along an axis of ``size`` positions, cell i spans [floor(i * size / G),
ceil((i + 1) * size / G)), the bounds of ``adaptive_avg_pool2d``: equal and
disjoint when G divides ``size``, overlapping by one position otherwise.
"""
import torch


def uniform_cells(height: int, width: int, grid: int) -> bool:
    """Whether G divides H and W: then the cells are equal and disjoint."""
    return height % grid == 0 and width % grid == 0


def cell_bounds(size: int, grid: int, device: torch.device) -> tuple:
    """(G,) start and (G,) end (exclusive) positions of the cells."""
    idx = torch.arange(grid, device=device)
    start = (idx * size) // grid
    end = torch.div((idx + 1) * size + grid - 1, grid, rounding_mode='floor')
    return start, end


def cell_averaging_matrix(size: int, grid: int, like: torch.Tensor) -> torch.Tensor:
    """(G, size) matrix whose row i averages the positions of cell i."""
    start, end = cell_bounds(size, grid, like.device)
    pos = torch.arange(size, device=like.device)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def cell_windows(size: int, grid: int, device: torch.device) -> tuple:
    """(G, R) positions of each cell, R the largest cell size, the shorter
    cells padded with their last position, and the (G, R) mask of the real
    positions."""
    start, end = cell_bounds(size, grid, device)
    pos = start[:, None] + torch.arange(int((end - start).max()), device=device)
    return torch.minimum(pos, end[:, None] - 1), pos < end[:, None]
