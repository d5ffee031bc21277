"""Whole-model operations: map a model onto crossbars, tune, calibrate, re-program and age it.

``patch_model(model, cfg)`` returns a deep copy of any ``nn.Module`` whose ``nn.Linear``,
``nn.Conv1d`` and ``nn.Conv2d`` layers (found through every container) are replaced by memristive
layers; the original model is untouched. Layers that multiply by weights in a way this package
does not map (transposed or 3-D convolutions, recurrent layers, attention, bilinear) are refused
with a ValueError naming them; weight-free layers (activations, pooling, normalisation) stay digital.
"""
from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from cosim.nn.aging import AgingModel
from cosim.nn.config import ArrayConfig
from cosim.nn.layers import MemristiveConv1d, MemristiveConv2d, MemristiveLayer, MemristiveLinear, check_input
from cosim.nn.programming import Programmer
from cosim.validate import positive_int, real_scalar

__all__ = ["SUPPORTED_LAYERS", "patch_model", "memristive_layers", "tune", "calibrate_adc", "program_model",
           "bake", "cycle", "digital"]

SUPPORTED_LAYERS: dict[type, type] = {nn.Linear: MemristiveLinear, nn.Conv1d: MemristiveConv1d,
                                      nn.Conv2d: MemristiveConv2d}
_MEMRISTIVE = {MemristiveLinear: MemristiveLinear, MemristiveConv1d: MemristiveConv1d,
               MemristiveConv2d: MemristiveConv2d}
_REFUSED = (nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Bilinear, nn.RNNBase,
            nn.RNNCellBase, nn.MultiheadAttention, nn.Transformer, nn.TransformerEncoderLayer,
            nn.TransformerDecoderLayer)


def _supported_names() -> str:
    return ", ".join(t.__name__ for t in SUPPORTED_LAYERS)


def _target_class(module: nn.Module) -> type | None:
    for source, target in {**_MEMRISTIVE, **SUPPORTED_LAYERS}.items():
        if isinstance(module, source):
            return target
    return None


def _check_mappable(model: nn.Module) -> None:
    """Raise ValueError listing every layer that cannot be mapped (before anything is copied)."""
    bad = []
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.lazy.LazyModuleMixin) and module.has_uninitialized_params():
            bad.append(f"'{name or '<model>'}' ({type(module).__name__}: uninitialised; run one forward first)")
        elif isinstance(module, _REFUSED):
            bad.append(f"'{name or '<model>'}' ({type(module).__name__})")
    if bad:
        raise ValueError(f"cannot map {', '.join(bad)} onto crossbars; supported layers: {_supported_names()} "
                         "(weight-free layers stay digital)")


def patch_model(model: nn.Module, cfg: ArrayConfig | None = None, *, programmer: Programmer | None = None,
                aging: AgingModel | None = None) -> nn.Module:
    """A copy of ``model`` with every Linear / Conv1d / Conv2d on crossbar tiles, programmed.

    Args:
        model: any nn.Module (a supported layer itself, or a container of them); not modified.
        cfg: the array config (default ``ArrayConfig()``: ideal mode, no quantisation, no faults).
        programmer: how the tiles are written (default: implied by ``cfg``).
        aging: aging model of every layer (default None: each layer's cells age on an engine clock under
            the engine's laws, see :class:`~cosim.nn.engine_bridge.EngineCells`; pass
            :class:`~cosim.nn.aging.DriftAging` to choose the power-law drift instead).
    Layers are numbered in the order they are reached (``named_modules`` order); with ``cfg.seed`` the number seeds each layer's
    fabrication, programming and aging. Already-memristive layers are mapped again from their
    digital weights with the new config.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    cfg = ArrayConfig() if cfg is None else cfg
    if not isinstance(cfg, ArrayConfig):
        raise ValueError(f"cfg must be an ArrayConfig; got {type(cfg).__name__}")
    _check_mappable(model)
    new = copy.deepcopy(model)
    converted: dict[int, nn.Module] = {}
    n_layers = [0]

    def convert(module: nn.Module) -> nn.Module:
        if id(module) in converted:            # a module used twice stays shared
            return converted[id(module)]
        target = _target_class(module)
        if target is not None:
            result = target.from_digital(module, cfg, programmer=programmer, aging=aging, key=(n_layers[0],))
            n_layers[0] += 1
            result.train(module.training)
        else:
            for child_name, child in list(module._modules.items()):   # named_children() skips repeats
                if child is not None:
                    setattr(module, child_name, convert(child))
            result = module
        converted[id(module)] = result
        return result

    return convert(new)


def memristive_layers(model: nn.Module) -> list[tuple[str, MemristiveLayer]]:
    """(name, layer) of every memristive layer of ``model``, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, MemristiveLayer)]


def _layers_or_error(model: nn.Module) -> list[tuple[str, MemristiveLayer]]:
    layers = memristive_layers(model)
    if not layers:
        raise ValueError("model has no memristive layers; map it with patch_model first")
    return layers


@torch.no_grad()
def tune(model: nn.Module, n_samples: int = 512, low: float = 0.0, high: float = 1.0, seed: int = 0,
         data: torch.Tensor | None = None) -> dict[str, float]:
    """Fit each output channel's gain and offset so the hardware matches the digital layer.

    Every memristive layer gets ``n_samples`` random input vectors, uniform in [low, high], and each
    of its output channels the least-squares line digital ~ gain * hardware + offset (seed 003's
    tuning by linear regression). With ``data`` (a batch for ``model``), each layer is fitted on the
    input vectors it receives when the model runs digitally on ``data`` instead. Returns each
    layer's relative RMS error after the fit.
    """
    positive_int("n_samples", n_samples, minimum=2)
    low, high = real_scalar("low", low), real_scalar("high", high)
    if not low < high:
        raise ValueError(f"need low < high; got low={low}, high={high}")
    seed = positive_int("seed", seed, minimum=0)
    layers = _layers_or_error(model)
    if data is not None:
        check_input(data)
        if data.shape[0] == 0:
            raise ValueError("tune needs at least one sample in data; got an empty batch")
        if not bool(torch.isfinite(data).all()):
            raise ValueError("data must be finite; found NaN or inf")
    rows = _captured_rows(model, layers, data) if data is not None else {}
    gen = torch.Generator().manual_seed(seed)
    fits = {}
    for name, layer in layers:                  # every fit first, then every layer updated: all or nothing
        grid = layer.tiles.grid
        if name not in rows:
            r = torch.rand((grid.groups, n_samples, grid.n_in), generator=gen, dtype=torch.float64)
            rows[name] = (low + (high - low) * r).to(dtype=layer.weight.dtype, device=layer.weight.device)
        fits[name] = _fit_gain_offset(layer, rows[name])
    for name, layer in layers:
        gain, offset, _ = fits[name]
        layer.gain.copy_(gain)
        layer.offset.copy_(offset)
    return {name: fit[2] for name, fit in fits.items()}


def _captured_rows(model: nn.Module, layers, data: torch.Tensor) -> dict[str, torch.Tensor]:
    """The input vectors (groups, N, n_in) each layer receives when the model runs digitally on ``data``."""
    captured, handles = {}, []
    for name, layer in layers:
        def hook(mod, args, name=name):
            captured[name] = mod.to_rows(args[0])[0]
        handles.append(layer.register_forward_pre_hook(hook))
    try:
        with digital(model):
            model(data)
    finally:
        for h in handles:
            h.remove()
    return captured


def _fit_gain_offset(layer: MemristiveLayer, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Least-squares (gain, offset) per output channel on input vectors ``rows``, and the relative RMS
    error left; the layer is not changed."""
    hardware, digital_out = layer.raw_rows(rows)
    h_mean, d_mean = hardware.mean(0), digital_out.mean(0)
    h_c, d_c = hardware - h_mean, digital_out - d_mean
    var = (h_c * h_c).mean(0)
    cov = (h_c * d_c).mean(0)
    ok = var > 1e-12 * var.max().clamp(min=torch.finfo(var.dtype).tiny)
    gain = torch.where(ok, cov / torch.where(ok, var, torch.ones_like(var)), torch.ones_like(var))
    offset = d_mean - gain * h_mean
    if not (bool(torch.isfinite(gain).all()) and bool(torch.isfinite(offset).all())):
        raise OverflowError("tune: the fitted gain or offset is not finite (the layer's inputs or outputs "
                            "overflowed); scale the inputs")
    resid = digital_out - (gain * hardware + offset)
    return gain, offset, float(resid.pow(2).mean().sqrt() / digital_out.pow(2).mean().sqrt().clamp(min=1e-30))


@torch.no_grad()
def calibrate_adc(model: nn.Module, *inputs) -> None:
    """Run ``model(*inputs)`` and set every tile's ADC full scale to the largest |current| it carried.

    Layers are calibrated in the order the forward pass reaches them, so each sees inputs produced
    by already-calibrated layers before it. All or nothing: if any layer (or the forward pass) raises,
    every layer keeps the ADC ranges it had before the call.
    """
    layers = _layers_or_error(model)
    saved = [(layer.tiles, layer.tiles.adc_calibrated) for _, layer in layers]
    handles = []
    for _, layer in layers:
        def hook(mod, args):
            check_input(args[0])
            mod.tiles.calibrate_adc(mod.to_rows(args[0])[0])
        handles.append(layer.register_forward_pre_hook(hook))
    try:
        model(*inputs)
    except BaseException:
        for tiles, ranges in saved:
            tiles.restore_adc(ranges)
        raise
    finally:
        for h in handles:
            h.remove()


def program_model(model: nn.Module, programmer: Programmer | None = None) -> None:
    """Write every memristive layer's present digital weights into its tiles again (after training)."""
    for _, layer in _layers_or_error(model):
        layer.program(programmer)


def bake(model: nn.Module, seconds: float, kelvin: float) -> None:
    """Age every memristive layer by a bake of ``seconds`` (s, >= 0) at ``kelvin`` (K, > 0), in place."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"seconds must be finite and >= 0; got {seconds!r}")
    if not (isinstance(kelvin, (int, float)) and math.isfinite(kelvin) and kelvin > 0):
        raise ValueError(f"kelvin must be finite and > 0; got {kelvin!r}")
    for _, layer in _layers_or_error(model):
        layer.bake(seconds, kelvin)


def cycle(model: nn.Module, n: int) -> None:
    """Age every memristive layer by ``n`` SET-RESET cycles of its cells, in place."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an integer >= 0; got {n!r}")
    for _, layer in _layers_or_error(model):
        layer.cycle(n)


@contextmanager
def digital(model: nn.Module, enabled: bool = True) -> Iterator[nn.Module]:
    """Within the block every memristive layer of ``model`` runs its digital forward (A/B comparison)."""
    layers = [layer for _, layer in memristive_layers(model)]
    before = [layer.digital for layer in layers]
    for layer in layers:
        layer.digital = enabled
    try:
        yield model
    finally:
        for layer, flag in zip(layers, before):
            layer.digital = flag
