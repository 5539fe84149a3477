"""Pure-torch distillation math: no MMDetection import below this package."""
from .checks import at_least_float32, check_finite
from .cka import (cosine_interrelation, cost_from_interrelation,
                  pairwise_linear_cka, uniform_cost)
from .divergences import bdd_loss, fitnet_loss, kd_loss, kl_divergence
from .gaussian_covariance import bures_wasserstein, cell_mean_covariance
from .gaussian_features import (COVARIANCE_FORMS, check_covariance,
                                gaussian_grid_stats, wkd_feature_loss)
from .sinkhorn import sinkhorn_cost
from .wasserstein_logits import (nontarget_log_softmax, nontarget_wasserstein,
                                 target_loss, wkd_logit_loss)

__all__ = [
    'COVARIANCE_FORMS', 'at_least_float32', 'bdd_loss', 'bures_wasserstein',
    'cell_mean_covariance', 'check_covariance', 'check_finite', 'cosine_interrelation',
    'cost_from_interrelation', 'fitnet_loss', 'gaussian_grid_stats', 'kd_loss',
    'kl_divergence', 'nontarget_log_softmax', 'nontarget_wasserstein',
    'pairwise_linear_cka', 'sinkhorn_cost', 'target_loss', 'uniform_cost',
    'wkd_feature_loss', 'wkd_logit_loss'
]
