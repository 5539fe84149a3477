"""Category interrelation by linear CKA, and the WKD-L cost matrix from it.

For per-class feature matrices X_i (n x d, the same n for every class, rows
centred):

    CKA(X_i, X_j) = ||X_j^T X_i||_F^2 / (||X_i^T X_i||_F ||X_j^T X_j||_F)

computed through the (n x n) Gram matrices G_i = X_i X_i^T, since
``||X_j^T X_i||_F^2 = <G_i, G_j>_F`` and ``||X_i^T X_i||_F = ||G_i||_F``:
one (K x n^2) @ (n^2 x K) product gives all pairs. The cost is

    M_ij = 1 - exp(-kappa * (1 - IR_ij)),  clamped to >= 1e-8, zero diagonal.

The uniform matrix (1 off the diagonal) is the no-knowledge fallback.
"""
import torch


def pairwise_linear_cka(feats: torch.Tensor) -> torch.Tensor:
    """(K, n, d) per-class features to the (K, K) linear-CKA matrix.

    Computed in float64. A class whose centred features are all zero has no
    defined CKA; its row and column are 0 (and its diagonal 1).
    """
    if feats.dim() != 3:
        raise ValueError('pairwise_linear_cka: expected (K, n, d) features, '
                         f'got shape {tuple(feats.shape)}')
    x = feats.double()
    x = x - x.mean(dim=1, keepdim=True)
    grams = (x @ x.transpose(1, 2)).flatten(1)  # (K, n*n)
    norms = grams.norm(dim=1)
    cka = (grams @ grams.t()) / (norms[:, None] * norms[None, :])
    cka = torch.nan_to_num(cka, nan=0.0, posinf=0.0, neginf=0.0)
    return cka.fill_diagonal_(1.0)


def cosine_interrelation(weights: torch.Tensor) -> torch.Tensor:
    """(K, d) per-class classifier weights to their (K, K) cosine similarity."""
    w = torch.nn.functional.normalize(weights.double(), dim=1)
    return w @ w.t()


def uniform_cost(num_classes: int) -> torch.Tensor:
    """(K, K) cost with 1 off the diagonal and 0 on it: all classes equally far."""
    return 1.0 - torch.eye(num_classes)


def cost_from_interrelation(interrelation: torch.Tensor,
                            kappa: float = 1.0) -> torch.Tensor:
    """``M = 1 - exp(-kappa * (1 - IR))``, >= 1e-8 off the diagonal, 0 on it."""
    cost = 1.0 - torch.exp(-kappa * (1.0 - interrelation.double()))
    return cost.clamp_min(1e-8).fill_diagonal_(0.0).float()
