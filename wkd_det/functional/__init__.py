"""Pure-torch distillation math: no MMDetection import below this package."""
from .checks import at_least_float32, check_finite
from .class_distributions import (HEAD_KINDS, check_head, class_log_probs,
                                  num_distribution_classes, weighted_mean)
from .cka import (class_mean_interrelation, cosine_interrelation,
                  cost_from_interrelation, pairwise_linear_cka,
                  second_moment_interrelation, uniform_cost)
from .divergences import bdd_loss, fitnet_loss, kd_loss, kl_divergence
from .feature_baselines import cwd_loss, pkd_loss, standardize_channels
from .gaussian_covariance import bures_wasserstein, cell_mean_covariance
from .gaussian_features import (COVARIANCE_FORMS, check_covariance,
                                check_window, gaussian_grid_stats,
                                gaussian_window_stats, wkd_feature_loss)
from .sinkhorn import sinkhorn_cost
from .wasserstein_logits import (nontarget_log_probs, nontarget_wasserstein,
                                 target_loss, wkd_logit_loss)

__all__ = [
    'COVARIANCE_FORMS', 'HEAD_KINDS', 'at_least_float32', 'bdd_loss',
    'bures_wasserstein', 'cell_mean_covariance', 'check_covariance',
    'check_window',
    'check_finite', 'check_head', 'class_log_probs',
    'class_mean_interrelation', 'cosine_interrelation',
    'cost_from_interrelation', 'cwd_loss', 'fitnet_loss',
    'gaussian_grid_stats', 'gaussian_window_stats', 'kd_loss',
    'kl_divergence', 'nontarget_log_probs', 'nontarget_wasserstein',
    'num_distribution_classes', 'pairwise_linear_cka', 'pkd_loss',
    'second_moment_interrelation', 'sinkhorn_cost', 'standardize_channels',
    'target_loss', 'uniform_cost', 'weighted_mean', 'wkd_feature_loss',
    'wkd_logit_loss'
]
