"""Attention-augmented convolutions (Bello et al., 2019) on grids of 1, 2 or 3 axes: ``AugmentedConv1d`` (sequences),
``AugmentedConv2d`` (images, the paper's layer), ``AugmentedConv3d`` (volumes, video).

    AAConv(X) = Concat[Conv(X), MHA(X)]        (channels: out - dv from the conv, then dv from attention)
    MHA(X)    = Concat[O_1 .. O_Nh] W^O         W^O a dv x dv 1x1 convolution
    O_h       = Softmax((Q_h K_h^T + sum_a S_a) / sqrt(dkh)) V_h      (2-D: S_H + S_W)

Project decisions where the paper is silent or ambiguous (docs/paper.md gives the reasons):
- q, k and v come from one 1x1 convolution, in that order; heads own contiguous channel blocks of each.
- One relative table per axis (2-D: rel_h, rel_w; 1-D: rel_l; 3-D: rel_d, rel_h, rel_w), shared by all heads of the
  layer; each head dots its own queries with them, so the relative logits differ per head. They are initialised
  with normal(std=dkh ** -0.5) (the paper's code passes that as the mean).
- q is scaled by dkh ** -0.5 before both the content and the relative products, as in the paper's code.
- stride > 1: the convolution is strided; the attention branch attends over the input average-pooled with
  kernel = stride (ceil mode, so odd sizes give exactly the conv branch's output size).
- attn_downsample: a 3x3 (3, 3x3x3) average pool of stride 2 before attention and a (bi-, tri-)linear upsample after
  it (the paper's memory trick for the first augmented stage). W^O runs at the low resolution: it commutes with the
  upsample.
- dv == 0 is a plain convolution (no q, k, v, projection or tables; dk is ignored); dv == out_channels is fully
  attentional (no convolution branch).
- A grid larger than ``max_size`` raises a ValueError, unless ``interpolate_rel_pos=True`` resamples the tables.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import ATTENTION_IMPLS, attend_nd
from .position_encoding import POSITION_ENCODINGS, coordinate_channels, sine_encoding
from .relative_position import table_for_length

# fx leaves patch the globals of the module that names them: name the imported ones here too.
torch.fx.wrap("table_for_length")
torch.fx.wrap("coordinate_channels")
torch.fx.wrap("sine_encoding")

SizeArg = int | tuple[int, ...]
AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
TABLE_NAMES = {1: ("rel_l",), 2: ("rel_h", "rel_w"), 3: ("rel_d", "rel_h", "rel_w")}
CONVS: dict[int, type[nn.Module]] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
POOLS: dict[int, Callable[..., Tensor]] = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
UPSAMPLING = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sizes(value: SizeArg, name: str, dims: int = 2) -> tuple[int, ...]:
    """An int or ``dims`` positive ints, as a tuple of ``dims`` ints."""
    what = f"a positive int or {dims} positive ints ({', '.join(AXES[dims])})"
    if not isinstance(value, (int, tuple, list)) or isinstance(value, bool):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    sizes = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(sizes) != dims or not all(_is_int(v) and v >= 1 for v in sizes):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return sizes


def _pair(value: SizeArg, name: str) -> tuple[int, int]:
    return _sizes(value, name, 2)  # type: ignore[return-value]


@torch.fx.wrap
def check_input(x: Tensor, in_channels: int, dims: int = 2) -> None:
    """Fail with the values and the fix when the input is not (B, in_channels, *spatial). An fx leaf."""
    layer = f"AugmentedConv{dims}d"
    if x.dim() != dims + 2:
        raise ValueError(
            f"{layer} expects a {dims + 2}-D input (B, C, {', '.join(AXES[dims])}), got shape {tuple(x.shape)}"
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{layer} was built for {in_channels} input channels but got {x.shape[1]} "
            f"(input shape {tuple(x.shape)}); build it with in_channels={x.shape[1]}"
        )


@torch.fx.wrap
def stride_pool(x: Tensor, stride: int, dims: int) -> Tensor:
    """The mean over each stride-wide window (ceil mode: the last window takes what is left), clipped to sides
    shorter than the stride (3-D pooling refuses a kernel larger than the input). An fx leaf."""
    window = tuple(min(stride, x.shape[2 + axis]) for axis in range(dims))
    return POOLS[dims](x, window, stride, ceil_mode=True)


def attention_grid_size(input_size: SizeArg, stride: int = 1, attn_downsample: bool = False) -> tuple[int, ...]:
    """The grid the attention branch runs on for an input of ``input_size`` (an int: a square image; a tuple of 1-3
    sides): what ``max_size`` must cover."""
    sizes = _sizes(input_size, "input_size", 2 if isinstance(input_size, int) else max(1, len(input_size)))
    sizes = tuple(math.ceil(side / stride) for side in sizes)
    if attn_downsample:  # 3-wide pool, stride 2, padding 1
        sizes = tuple((side - 1) // 2 + 1 for side in sizes)
    return sizes


class AugmentedConvNd(nn.Module):
    """Attention-augmented convolution on a grid of ``spatial_dims`` axes: ``out_channels - dv`` conv channels
    followed by ``dv`` attention channels. Use :class:`AugmentedConv1d`, :class:`AugmentedConv2d` or
    :class:`AugmentedConv3d`.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (conv branch + attention branch).
        kernel_size: odd size of the convolution branch's kernel ('same' padding).
        stride: stride of the conv branch; the attention branch average-pools its input by the same factor.
        dk: total key (and query) depth, divisible by ``num_heads``.
        dv: total value depth (attention output channels), divisible by ``num_heads``, at most ``out_channels``.
        num_heads: number of attention heads Nh.
        relative: add the relative position logits, one table per axis (False: content-only attention).
        position_encoding: ``"relative"`` (the paper's default), ``"none"``, ``"coordconv"`` (coordinate channels
            appended to the attention input) or ``"sine"`` (sinusoidal encodings added to it); None: relative
            unless ``relative=False``. See :mod:`aacn.nn.position_encoding`.
        max_size: largest attention grid the relative tables cover (an int for every side, or one per axis); see
            :func:`attention_grid_size`.
        attn_downsample: attend over a 3-wide stride-2 average-pooled grid and upsample the result (bi-, tri-)linearly.
        bias: add biases to the convolutions.
        interpolate_rel_pos: on a grid larger than ``max_size``, resample the tables instead of raising.
        attention_impl: ``"auto"`` (default), ``"eager"``, ``"chunked"``, ``"flex"`` or ``"sdpa"``; see
            :func:`aacn.nn.attention.attend_nd`.
        tile_rows: query rows per tile of the chunked path (None: automatic; ``chunk_size`` is its old name).
        device, dtype: where and in what dtype to create the parameters, as ``nn.Conv2d`` takes them.

    Set ``capture_attention = True`` to keep the softmax weights (B, Nh, T, T) of the last forward pass in
    ``attention`` (detached); otherwise nothing is kept.
    """

    spatial_dims: ClassVar[int] = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        dk: int,
        dv: int,
        num_heads: int = 8,
        relative: bool = True,
        max_size: SizeArg | None = None,
        attn_downsample: bool = False,
        bias: bool = False,
        position_encoding: str | None = None,
        interpolate_rel_pos: bool = False,
        attention_impl: str = "auto",
        tile_rows: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        dims = self.spatial_dims
        if chunk_size is not None:
            warnings.warn("chunk_size is now tile_rows", DeprecationWarning, stacklevel=2)
            tile_rows = chunk_size if tile_rows is None else tile_rows
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("stride", stride)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name, value in (("dk", dk), ("dv", dv)):
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        flags = (("relative", relative), ("attn_downsample", attn_downsample), ("bias", bias),
                 ("interpolate_rel_pos", interpolate_rel_pos))  # fmt: skip
        for name, value in flags:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        if not _is_int(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int ('same' padding), got {kernel_size!r}")
        if not _is_int(num_heads) or num_heads < 1:
            raise ValueError(f"num_heads must be an int >= 1, got {num_heads!r}")
        if position_encoding is not None and position_encoding not in POSITION_ENCODINGS:
            raise ValueError(
                f"position_encoding must be one of {', '.join(POSITION_ENCODINGS)} or None, got {position_encoding!r}"
            )
        if position_encoding == "relative" and relative is False:
            raise ValueError("relative=False contradicts position_encoding='relative'; give one of them")
        encoding = position_encoding or ("relative" if relative else "none")
        relative = encoding == "relative"
        if encoding == "sine" and dv > 0 and in_channels % (2 * dims):
            raise ValueError(
                f"position_encoding='sine' needs in_channels divisible by {2 * dims} (sines and cosines for each of "
                f"{dims} axes), got {in_channels}"
            )
        if attention_impl not in ATTENTION_IMPLS:
            raise ValueError(f"attention_impl must be one of {', '.join(ATTENTION_IMPLS)}, got {attention_impl!r}")
        if tile_rows is not None and (not _is_int(tile_rows) or tile_rows < 1):
            raise ValueError(f"tile_rows must be a positive int or None (automatic), got {tile_rows!r}")
        if dv < 0 or dv > out_channels:
            raise ValueError(f"dv must lie in [0, out_channels={out_channels}], got dv={dv}")
        if dv > 0:
            if dv % num_heads:
                raise ValueError(f"dv={dv} is not divisible by num_heads={num_heads}; use a multiple of {num_heads}")
            if dk % num_heads:
                raise ValueError(f"dk={dk} is not divisible by num_heads={num_heads}; use a multiple of {num_heads}")
            if dk // num_heads < 1:
                raise ValueError(f"key depth per head dk/num_heads = {dk}/{num_heads} is below 1; use dk >= num_heads")
            if relative and max_size is None:
                raise ValueError(
                    f"relative=True needs max_size=({', '.join(AXES[dims])}), the largest attention grid the tables "
                    "must cover (aacn.nn.attention_grid_size(input_size, stride, attn_downsample) computes it)"
                )
        else:
            dk = 0  # a plain convolution: no attention branch at all

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.dk = dk
        self.dv = dv
        self.num_heads = num_heads
        self.relative = relative and dv > 0
        self.position_encoding = encoding if dv > 0 else "none"
        self.max_size = _sizes(max_size, "max_size", dims) if self.relative else None  # type: ignore[arg-type]
        self.attn_downsample = attn_downsample and dv > 0
        self.interpolate_rel_pos = interpolate_rel_pos
        self.attention_impl = attention_impl
        self.tile_rows = tile_rows
        self.capture_attention = False
        self.attention: Tensor | None = None

        factory = {"device": device, "dtype": dtype}
        conv = CONVS[dims]
        conv_channels = out_channels - dv
        self.conv = (
            conv(in_channels, conv_channels, kernel_size, stride, padding=kernel_size // 2, bias=bias, **factory)
            if conv_channels > 0
            else None
        )
        if dv > 0:
            extra = dims if self.position_encoding == "coordconv" else 0  # one coordinate channel per axis
            self.qkv = conv(in_channels + extra, 2 * dk + dv, 1, bias=bias, **factory)
            self.proj = conv(dv, dv, 1, bias=bias, **factory)
        else:
            self.qkv = None
            self.proj = None
        for index, name in enumerate(TABLE_NAMES[dims]):
            if self.relative:
                rows = 2 * self.max_size[index] - 1  # type: ignore[index]
                self.register_parameter(name, nn.Parameter(torch.empty(rows, dk // num_heads, **factory)))
            else:
                self.register_parameter(name, None)
        self.reset_parameters()

    @classmethod
    def from_ratios(
        cls,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        key_ratio: float = 0.2,
        value_ratio: float = 0.1,
        num_heads: int = 8,
        min_key_dim_per_head: int = 20,
        **kwargs,
    ) -> AugmentedConvNd:
        """Build from the paper's ratios k = dk / out and v = dv / out.

        dk and dv are rounded down to multiples of ``num_heads``, then dk is raised to at least
        ``min_key_dim_per_head * num_heads`` (the paper's "minimum of 20 dimensions per head for the keys").
        Note the paper's "k = 2v = 0.2" means key_ratio=0.2, value_ratio=0.1.
        """
        dk, dv = ratio_depths(out_channels, key_ratio, value_ratio, num_heads, min_key_dim_per_head)
        return cls(in_channels, out_channels, kernel_size, stride, dk=dk, dv=dv, num_heads=num_heads, **kwargs)

    @property
    def key_dim_per_head(self) -> int:
        return self.dk // self.num_heads

    @property
    def tables(self) -> tuple[nn.Parameter, ...] | None:
        """The relative tables, one per axis (None without relative logits)."""
        if not self.relative:
            return None
        return tuple(getattr(self, name) for name in TABLE_NAMES[self.spatial_dims])

    def no_weight_decay(self) -> set[str]:
        """The relative tables (timm's convention): position embeddings, which weight decay would pull to zero."""
        return set(TABLE_NAMES[self.spatial_dims]) if self.relative else set()

    def reset_parameters(self) -> None:
        for conv in (self.conv, self.qkv, self.proj):
            if conv is not None:
                conv.reset_parameters()
        for table in self.tables or ():
            nn.init.normal_(table, std=self.key_dim_per_head**-0.5)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels, self.spatial_dims)
        if self.qkv is None:
            return self.conv(x)  # type: ignore[misc]
        attended = self._attend(x)
        if self.conv is None:
            return attended
        return torch.cat([self.conv(x), attended], dim=1)

    def _spatial(self, x: Tensor) -> tuple[int, ...]:
        # one dim at a time, not x.shape[2:]: under fx the shape is a proxy that cannot be iterated
        return tuple(x.shape[2 + axis] for axis in range(self.spatial_dims))

    def _attend(self, x: Tensor) -> Tensor:
        """The attention branch: (B, in, *grid) -> (B, dv, *grid') with grid' the conv branch's output size."""
        pool = POOLS[self.spatial_dims]
        if self.stride > 1:
            x = stride_pool(x, self.stride, self.spatial_dims)
        out_size = self._spatial(x)
        if self.attn_downsample:
            x = pool(x, 3, 2, padding=1, count_include_pad=False)
        batch, shape = x.shape[0], self._spatial(x)
        heads, dkh, dvh = self.num_heads, self.dk // self.num_heads, self.dv // self.num_heads
        if self.position_encoding == "coordconv":
            x = torch.cat([x, coordinate_channels(x)], dim=1)
        elif self.position_encoding == "sine":
            x = x + sine_encoding(x.shape[1], shape, x)

        q, k, v = self.qkv(x).split([self.dk, self.dk, self.dv], dim=1)  # type: ignore[misc]
        # (B, Nh * d, *grid) -> (B, Nh, d, T) -> (B, Nh, T, d): head n owns channels [n*d, (n+1)*d)
        q = q.reshape(batch, heads, dkh, -1).transpose(-1, -2) * dkh**-0.5
        k = k.reshape(batch, heads, dkh, -1).transpose(-1, -2)
        v = v.reshape(batch, heads, dvh, -1).transpose(-1, -2)

        tables = None
        if self.relative:
            tables = tuple(
                table_for_length(table, length, largest, self.interpolate_rel_pos)
                for table, length, largest in zip(self.tables, shape, self.max_size, strict=True)  # type: ignore[arg-type]
            )
        out, weights = attend_nd(q, k, v, shape, tables, impl=self.attention_impl,
                                 need_weights=self.capture_attention, tile_rows=self.tile_rows)  # fmt: skip
        if weights is not None:
            self.attention = weights.detach()

        # (B, Nh, T, dvh) -> (B, Nh, dvh, T) -> (B, dv, *grid): the transpose keeps positions and channels apart
        out = out.transpose(-1, -2).reshape(batch, self.dv, *shape)
        out = self.proj(out)  # type: ignore[misc]
        if self.attn_downsample:
            out = F.interpolate(out, size=out_size, mode=UPSAMPLING[self.spatial_dims], align_corners=False)
        return out

    def extra_repr(self) -> str:
        parts = [
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}",
            f"dk={self.dk}, dv={self.dv}, num_heads={self.num_heads}, relative={self.relative}",
        ]
        if self.position_encoding not in ("relative", "none"):
            parts.append(f"position_encoding={self.position_encoding!r}")
        if self.max_size is not None:
            parts.append(f"max_size={self.max_size}")
        if self.attn_downsample:
            parts.append("attn_downsample=True")
        return ", ".join(parts)


class AugmentedConv2d(AugmentedConvNd):
    """The paper's layer on images: input (B, C, H, W); tables ``rel_h`` (2 Hmax - 1, dkh) and ``rel_w``
    (2 Wmax - 1, dkh); see :class:`AugmentedConvNd` for the arguments."""

    spatial_dims: ClassVar[int] = 2


class AugmentedConv1d(AugmentedConvNd):
    """On sequences (audio, ECG and other time series, text embeddings): input (B, C, L); one table ``rel_l``
    (2 Lmax - 1, dkh); see :class:`AugmentedConvNd` for the arguments."""

    spatial_dims: ClassVar[int] = 1


class AugmentedConv3d(AugmentedConvNd):
    """On volumes (video, medical scans): input (B, C, D, H, W); tables ``rel_d``, ``rel_h``, ``rel_w``; see
    :class:`AugmentedConvNd` for the arguments."""

    spatial_dims: ClassVar[int] = 3


def ratio_depths(
    out_channels: int, key_ratio: float, value_ratio: float, num_heads: int, min_key_dim_per_head: int = 20
) -> tuple[int, int]:
    """(dk, dv) for the paper's ratios: rounded down to multiples of num_heads, dk >= min_key_dim_per_head * Nh."""
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    if not number(value_ratio) or not 0.0 <= value_ratio <= 1.0:
        raise ValueError(f"value_ratio must lie in [0, 1], got {value_ratio!r}")
    if not number(key_ratio) or key_ratio <= 0:
        raise ValueError(f"key_ratio must be > 0, got {key_ratio!r}")
    if not _is_int(num_heads) or num_heads < 1:
        raise ValueError(f"num_heads must be an int >= 1, got {num_heads!r}")
    if not _is_int(out_channels) or out_channels < 1:
        raise ValueError(f"out_channels must be a positive int, got {out_channels!r}")
    if not _is_int(min_key_dim_per_head) or min_key_dim_per_head < 0:
        raise ValueError(f"min_key_dim_per_head must be an int >= 0, got {min_key_dim_per_head!r}")
    # the epsilon keeps 0.29 * 100 = 28.999999999999996 from rounding down to 28
    dk = math.floor(key_ratio * out_channels + 1e-9) // num_heads * num_heads
    dv = math.floor(value_ratio * out_channels + 1e-9) // num_heads * num_heads
    dk = max(dk, min_key_dim_per_head * num_heads, num_heads)
    return dk, dv


@contextlib.contextmanager
def using_attention_impl(module: nn.Module, impl: str) -> Iterator[nn.Module]:
    """Run every augmented convolution inside ``module`` (1-D, 2-D or 3-D) on the attention path ``impl`` within the
    block; each gets its own setting back afterwards.

    The paths compute the same function but not the same float32 rounding, so comparing a traced, exported or ONNX
    graph (which records the eager path) against the model needs the model on that path too::

        with using_attention_impl(model, "eager"):
            expected = model(x)
    """
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"attention_impl must be one of {', '.join(ATTENTION_IMPLS)}, got {impl!r}")
    layers = [m for m in module.modules() if isinstance(m, AugmentedConvNd)]
    before = [layer.attention_impl for layer in layers]
    try:
        for layer in layers:
            layer.attention_impl = impl
        yield module
    finally:
        for layer, setting in zip(layers, before, strict=True):
            layer.attention_impl = setting
