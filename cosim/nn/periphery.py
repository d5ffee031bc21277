"""Tile periphery: the input DAC (activations -> word-line voltages) and the output ADC (currents -> codes).

Both are plain torch functions on tensors of any device and dtype. Quantisation is mid-tread and
symmetric: a b-bit signed converter has the 2^(b-1) - 1 positive levels of its full scale, their
negatives and zero; a b-bit unsigned DAC (two-phase inputs) has 2^b - 1 positive levels and zero.
Gradients never flow through this path (the layers are straight-through to their digital weights).
"""
from __future__ import annotations

import torch

from cosim.nn.config import ArrayConfig

__all__ = ["input_scale", "encode_inputs", "quantize", "adc"]


def quantize(u: torch.Tensor, levels: int) -> torch.Tensor:
    """Round ``u`` (full scale 1) to the nearest multiple of 1 / ``levels``."""
    return torch.round(u * levels) / levels


def input_scale(x: torch.Tensor, cfg: ArrayConfig) -> torch.Tensor:
    """Activation value at full-scale voltage for every input vector, shape x.shape[:-1] + (1,).

    ``cfg.dac_range`` when fixed; otherwise each vector's own max |x| (1 for an all-zero vector).
    """
    if cfg.dac_range is not None:
        return torch.full_like(x[..., :1], cfg.dac_range)
    peak = x.abs().amax(dim=-1, keepdim=True)
    return torch.where(peak > 0, peak, torch.ones_like(peak))


def encode_inputs(x: torch.Tensor, scale: torch.Tensor, cfg: ArrayConfig) -> list[tuple[float, torch.Tensor]]:
    """Word-line voltages (V) for activations ``x`` divided by ``scale``, as (sign, voltages) phases.

    Bipolar: one phase of signed voltages in [-v_read, v_read]. Two-phase: the positive part, then the
    negative part as non-negative voltages with sign -1 (a phase that is all zero is left out).
    Inputs beyond the full scale saturate at +-v_read.
    """
    u = (x / scale).clamp(-1.0, 1.0)
    bits = cfg.dac_bits
    if cfg.input_encoding == "bipolar":
        if bits is not None:
            u = quantize(u, 2 ** (bits - 1) - 1)
        return [(1.0, u * cfg.v_read)]
    phases = []
    for sign, part in ((1.0, u.clamp(min=0.0)), (-1.0, (-u).clamp(min=0.0))):
        if bits is not None:
            part = quantize(part, 2 ** bits - 1)
        if sign > 0 or bool(torch.any(part != 0)):
            phases.append((sign, part * cfg.v_read))
    return phases


def adc(currents: torch.Tensor, full_scale: torch.Tensor, bits: int) -> torch.Tensor:
    """Signed ``bits``-bit conversion of ``currents`` (A) with per-entry ``full_scale`` (A, broadcast).

    Currents beyond the full scale saturate.
    """
    levels = 2 ** (bits - 1) - 1
    return quantize((currents / full_scale).clamp(-1.0, 1.0), levels) * full_scale
