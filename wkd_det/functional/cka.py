"""Category interrelations (IR) from per-class features, and the WKD-L cost.

Each category i contributes a feature matrix X_i (n_i x d: one row per
sample, e.g. an RoI feature at the teacher's classifier input). The cost is

    M_ij = 1 - exp(-kappa * (1 - IR_ij)),  clamped to >= 1e-8, zero diagonal.

Three interrelations are offered; only the first two are sound:

- :func:`second_moment_interrelation` (the default of
  ``tools/build_cost_matrix.py``): the alignment of the classes' feature
  second-moment matrices S_i = X_i^T X_i / n_i,
  ``IR_ij = <S_i, S_j>_F / (||S_i||_F ||S_j||_F)``. It sums over all sample
  pairs, so it needs no pairing and no equal n_i.
- :func:`class_mean_interrelation`: the cosine of the class-mean features.
- :func:`pairwise_linear_cka`: the authors' linear CKA between X_i and X_j,
  which pairs row k of one class with row k of another (see its docstring for
  why that is not a measure of the classes).

:func:`cosine_interrelation` (classifier weights) and :func:`uniform_cost`
(1 off the diagonal) are the no-data fallbacks.
"""
from typing import List, Sequence, Union

import torch

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


def _class_features(feats: Features, name: str) -> List[torch.Tensor]:
    """K float64 (n_i, d) matrices from a (K, n, d) tensor or a list."""
    if isinstance(feats, torch.Tensor) and feats.dim() != 3:
        raise ValueError(f'{name}: expected (K, n, d) features or a list of '
                         f'K (n_i, d) matrices, got shape {tuple(feats.shape)}')
    feats = [x.double() for x in feats]
    if not feats or any(x.dim() != 2 for x in feats) or \
            len({x.shape[1] for x in feats}) != 1:
        raise ValueError(f'{name}: expected K >= 1 (n_i, d) matrices with one '
                         f'd, got shapes {[tuple(x.shape) for x in feats]}')
    if any(len(x) == 0 for x in feats):
        raise ValueError(f'{name}: every category needs at least one sample, '
                         f'got counts {[len(x) for x in feats]}')
    return feats


def _normalised_gram(inner: torch.Tensor) -> torch.Tensor:
    """``inner_ij / sqrt(inner_ii inner_jj)``; a zero-norm class gets 0 off
    the diagonal and 1 on it."""
    norms = inner.diagonal().clamp_min(0).sqrt()
    ir = inner / (norms[:, None] * norms[None, :])
    ir = torch.nan_to_num(ir, nan=0.0, posinf=0.0, neginf=0.0)
    return ir.fill_diagonal_(1.0)


def second_moment_interrelation(feats: Features,
                                center: bool = False) -> torch.Tensor:
    """K classes' features to the (K, K) alignment of their second moments.

    ``IR_ij = <S_i, S_j>_F / (||S_i||_F ||S_j||_F)`` with
    ``S_i = X_i^T X_i / n_i``. Since ``<S_i, S_j>_F = ||X_i X_j^T||_F^2 /
    (n_i n_j)`` sums over every (sample of i, sample of j) pair, the result
    does not depend on the order of the samples and the classes may have
    different counts n_i. (It is linear CKA with the roles swapped: the
    paired "examples" are the d feature channels, which do correspond across
    classes, instead of the samples, which do not.) IR is in [0, 1]: both
    matrices are positive semi-definite. Computed in float64 by the cheaper
    of two routes: the (d x d) moments (~ N d^2 + K^2 d^2 operations, K d^2
    memory) or the (n_i x N) cross-Gram blocks of each class against all
    N = sum n_i samples (~ N^2 d operations, max n_i N memory).

    Centring: by default the rows are **not** centred, so S_i is the
    uncentred second moment ``Cov_i + mu_i mu_i^T``. The class mean mu_i is
    where most of a class's identity sits (it is what a linear classifier on
    these features separates); centring per class would compare only the
    within-class spreads, and two classes with the same nuisance variation
    (position, scale, clutter) would score 1 however different their means.
    Uncentred, a class with a single sample is still defined (rank one),
    where its covariance would be zero. ``center=True`` gives the covariance
    form (RV coefficient of the class covariances) for comparison.

    Args:
        feats: a (K, n, d) tensor or a sequence of K (n_i, d) matrices.
        center (bool): subtract each class's mean from its rows first.

    Returns:
        Tensor: (K, K) float64, symmetric, 1 on the diagonal; a class whose
        (centred) features are all zero has 0 off the diagonal.
    """
    feats = _class_features(feats, 'second_moment_interrelation')
    if center:
        feats = [x - x.mean(0) for x in feats]
    k, d = len(feats), feats[0].shape[1]
    total = sum(len(x) for x in feats)
    if d * (total + k * k) <= total * total:
        moments = torch.stack([(x.t() @ x).flatten() / len(x) for x in feats])
        inner = moments @ moments.t()
    else:
        stacked = torch.cat(feats)
        owner = torch.repeat_interleave(
            torch.arange(k), torch.tensor([len(x) for x in feats]))
        inner = stacked.new_zeros(k, k)
        for i, x in enumerate(feats):
            cross = (x @ stacked.t()).square().sum(0)  # (N,)
            inner[i].index_add_(0, owner, cross)
        counts = torch.tensor([len(x) for x in feats], dtype=inner.dtype)
        inner = inner / (counts[:, None] * counts[None, :])
    return _normalised_gram(inner)


def class_mean_interrelation(feats: Features) -> torch.Tensor:
    """K classes' features to the (K, K) cosine similarity of their means.

    Pairing-free and order-free like :func:`second_moment_interrelation`,
    and any n_i; it sees only the first moment (for non-negative, post-ReLU
    features the means share a common positive part, so the cosines sit
    high). A class whose mean is zero has 0 off the diagonal.

    Args:
        feats: a (K, n, d) tensor or a sequence of K (n_i, d) matrices.

    Returns:
        Tensor: (K, K) float64, symmetric, 1 on the diagonal.
    """
    feats = _class_features(feats, 'class_mean_interrelation')
    means = torch.stack([x.mean(0) for x in feats])
    return _normalised_gram(means @ means.t())


def pairwise_linear_cka(feats: torch.Tensor) -> torch.Tensor:
    """(K, n, d) per-class features to the (K, K) *paired* linear-CKA matrix.

    The authors' form, kept as a named option (``--interrelation
    paired-cka``), not the default: for rows centred per class,

        CKA(X_i, X_j) = ||X_j^T X_i||_F^2 / (||X_i^T X_i||_F ||X_j^T X_j||_F)

    computed through the (n x n) Gram matrices G_i = X_i X_i^T
    (``||X_j^T X_i||_F^2 = <G_i, G_j>_F``), one (K x n^2) @ (n^2 x K)
    product for all pairs. CKA compares two representations *of the same
    examples*; here row k of class i and row k of class j are unrelated
    samples, so the numerator pairs them arbitrarily. With independent samples
    its expectation is n tr(S_i) tr(S_j) whatever the classes' alignment: the
    score changes when the samples of one class are reordered and barely
    tells the classes apart (two classes in orthogonal subspaces score about
    as high as two in the same one). Use :func:`second_moment_interrelation`
    instead. Needs the same n for every class. Computed in float64; a class
    whose centred features are all zero has 0 off the diagonal (1 on it).
    """
    if feats.dim() != 3:
        raise ValueError('pairwise_linear_cka: expected (K, n, d) features, '
                         f'got shape {tuple(feats.shape)}')
    x = feats.double()
    x = x - x.mean(dim=1, keepdim=True)
    grams = (x @ x.transpose(1, 2)).flatten(1)  # (K, n*n)
    return _normalised_gram(grams @ grams.t())


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
