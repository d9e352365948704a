"""The operator: AugmentedConv2d and its attention and relative-position pieces. Imports nothing else of aacn."""

from .attention import relative_attention
from .augmented_conv import AugmentedConv2d, attention_grid_size, ratio_depths, using_attention_impl
from .relative_position import relative_logits_1d, relative_logits_2d, table_for_length

__all__ = [
    "AugmentedConv2d",
    "attention_grid_size",
    "ratio_depths",
    "relative_attention",
    "relative_logits_1d",
    "relative_logits_2d",
    "table_for_length",
    "using_attention_impl",
]
