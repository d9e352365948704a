"""The operator: AugmentedConv1d/2d/3d and their attention and relative-position pieces. Imports nothing else."""

from .attention import relative_attention, relative_attention_nd
from .augmented_conv import (
    AugmentedConv1d,
    AugmentedConv2d,
    AugmentedConv3d,
    AugmentedConvNd,
    attention_grid_size,
    ratio_depths,
    using_attention_impl,
)
from .relative_position import relative_logits_1d, relative_logits_2d, table_for_length
from .weight_decay import no_weight_decay_names, skips_weight_decay

__all__ = [
    "AugmentedConv1d",
    "AugmentedConv2d",
    "AugmentedConv3d",
    "AugmentedConvNd",
    "attention_grid_size",
    "no_weight_decay_names",
    "ratio_depths",
    "relative_attention",
    "relative_attention_nd",
    "relative_logits_1d",
    "relative_logits_2d",
    "skips_weight_decay",
    "table_for_length",
    "using_attention_impl",
]
