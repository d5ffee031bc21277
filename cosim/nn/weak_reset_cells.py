"""Weak-RESET HfOx cells (seeds 001/004) as torch tensors on a layer's device: the pulse device of the 2T2R BNN.

The same model as :class:`cosim.devices.weak_reset.WeakResetHfOx`, on torch tensors of any shape:

    R = R0 exp(w),   w = w_mean + a X + alpha sum_r b_r omega_r

* the mean law is the one function ``cosim.devices.weak_reset.mean_gap`` (shared with numpy);
* per-cell parameters are sampled by ``WeakResetHfOx`` itself (Table I with spread, the nominal
  device without), then copied to the layer's device;
* RTN: after n pulses X flips with the n-step probability of the two-state chain,
  p01(n) = P_h/(P_h+P_l) (1 - (1 - P_h - P_l)^n) and p10(n) likewise with P_l (tested against
  ``rtn_switch_probabilities``);
* pink noise: the newest ``pole + 1`` Gaussian draws per cell, newest first; n pulses shift in n
  fresh draws (at most pole + 1), weighted by ``kasdin_coefficients``.

Only RESET pulses exist in this model; a SET is the ``reset_state`` refresh (the cell is formed
again: its pulse count returns to 0, its noise state is kept).
Pulse electrics (MODELS.md section 2): 1 V, 0.1 us per weak-RESET pulse, read at 0.1 V.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch

from cosim.devices.pink_noise import kasdin_coefficients
from cosim.devices.weak_reset import (WeakResetHfOx, WeakResetNoise, WeakResetNominal, WeakResetOptions,
                                      WeakResetParams, WeakResetVariability, mean_gap)
from cosim.nn.pulse_devices import Polarity, PulseCells, check_counts, check_polarity

__all__ = ["WeakResetComponents", "WeakResetPulse", "WeakResetCells"]


@dataclass(frozen=True)
class WeakResetComponents:
    """Which parts of the weak-RESET model are on (seed 004 Fig. 9 switches them one by one)."""

    spread: bool = True      # device-to-device: per-cell parameters from Table I (off: WeakResetNominal)
    rtn: bool = True         # random telegraph noise a X
    pink: bool = True        # pink noise alpha sum b_r omega_r
    saturation: bool = True  # the mean model's second slope m2 beyond t* (off: slope m1 throughout)

    @classmethod
    def of(cls, spread: bool, noise: bool) -> "WeakResetComponents":
        """The paper's switches: ``spread`` (D2D) and ``noise`` (RTN and pink together)."""
        for name, value in (("spread", spread), ("noise", noise)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool; got {value!r}")
        return cls(spread=spread, rtn=noise, pink=noise)


@dataclass(frozen=True)
class WeakResetPulse:
    """Electrical description of one weak-RESET pulse (MODELS.md section 2, measurement context)."""

    amplitude_v: float = 1.0   # V across the cell
    width_s: float = 1e-7      # s


class WeakResetCells(PulseCells):
    """``shape`` weak-RESET cells; state (pulse counts, RTN, pink history) in buffers.

    Args:
        shape: cell tensor shape. components: which parts of the model are on. seed: seeds the
        parameter draw (numpy) and the noise (a torch Generator on the cells' device).
        variability / noise / nominal: Table I, Table II and the nominal device. device, dtype: where
        and in which float type the state lives (pulse counts are int64).
    """

    def __init__(self, shape: tuple[int, ...], components: WeakResetComponents = WeakResetComponents(), *,
                 seed: int = 0, variability: WeakResetVariability = WeakResetVariability(),
                 noise: WeakResetNoise = WeakResetNoise(), nominal: WeakResetNominal = WeakResetNominal(),
                 pulse: WeakResetPulse = WeakResetPulse(), device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32):
        super().__init__(shape)
        if not isinstance(components, WeakResetComponents):
            raise TypeError(f"components must be a WeakResetComponents; got {type(components).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        if not isinstance(pulse, WeakResetPulse):
            raise TypeError(f"pulse must be a WeakResetPulse; got {type(pulse).__name__}")
        n = math.prod(shape)
        sampler = WeakResetHfOx(n, np.random.default_rng(seed), variability=variability, noise=noise,
                                options=WeakResetOptions(d2d=components.spread, rtn=False, pink=False),
                                nominal=nominal)
        self.components, self.noise, self.pulse, self.seed = components, noise, pulse, int(seed)
        for name in WeakResetParams.__dataclass_fields__:
            values = np.array(sampler.params[name]).reshape(shape)
            self.register_buffer(name, torch.as_tensor(values, dtype=dtype, device=device))
        if not components.saturation:
            self.m2 = self.m1.clone()
        self.register_buffer("pulses", torch.zeros(shape, dtype=torch.int64, device=device))
        self.register_buffer("rtn_state", torch.zeros(shape, dtype=torch.bool, device=device))
        b = kasdin_coefficients(noise.pole)
        self.register_buffer("kasdin", torch.as_tensor(b, dtype=dtype, device=device))
        self._gen: torch.Generator | None = None
        self._draws = 0
        self._gap: tuple[tuple, torch.Tensor] | None = None   # (state key, gap()): reused until the state changes
        history = self._normal(shape + (b.size,)) if components.pink else torch.zeros(shape + (0,), dtype=dtype,
                                                                                         device=device)
        self.register_buffer("pink_history", history)  # (*shape, pole + 1): each cell's draws, newest first
        fir = history @ self.kasdin if components.pink else torch.zeros(shape, dtype=dtype, device=device)
        self.register_buffer("pink_fir", fir)          # sum_r b_r omega_r, kept up to date with the history
        self.register_buffer("log_R0", torch.log(self.R0))

    # ---- randomness: one torch Generator on the state's device ------------------------------------
    def _generator(self) -> torch.Generator:
        device = self.pulses.device
        if self._gen is None or self._gen.device != device:
            # A move to another device starts a new stream, seeded from the seed and the draws so far.
            self._gen = torch.Generator(device=device)
            self._gen.manual_seed(int(np.random.SeedSequence([self.seed, 1, self._draws]).generate_state(1)[0]))
        self._draws += 1
        return self._gen

    def _normal(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(shape, generator=self._generator(), device=self.pulses.device, dtype=self.m1.dtype)

    def _uniform(self, n: int) -> torch.Tensor:
        return torch.rand(n, generator=self._generator(), device=self.pulses.device, dtype=self.m1.dtype)

    # ---- physics ---------------------------------------------------------------------------------
    def apply_pulses(self, counts: torch.Tensor, polarity: Polarity = Polarity.RESET) -> None:
        """Apply ``counts`` weak-RESET pulses (int64, cell shape, >= 0); only RESET exists here.

        When few cells receive pulses only those are touched (index operations); otherwise all are."""
        counts = check_counts(counts, self.shape, self.pulses.device)
        if check_polarity(polarity) is not Polarity.RESET:
            raise ValueError("weak-RESET cells take RESET pulses only; a SET is reset_state() (a refresh)")
        flat = counts.reshape(-1)
        active = torch.nonzero(flat).squeeze(1)
        if active.numel() == 0:
            return
        self.pulses.add_(counts)
        sparse = active.numel() < flat.numel() // 4
        n = flat[active] if sparse else flat
        if self.components.rtn:
            state = self.rtn_state.view(-1)
            was = state[active] if sparse else state
            flip = self._uniform(n.numel()) < self._flip_probability(n, was)
            if sparse:
                state.index_copy_(0, active, was ^ flip)
            else:
                state.logical_xor_(flip)
        if self.components.pink:
            self._shift_pink(active if sparse else None, n)

    def flip_probability(self, counts: torch.Tensor) -> torch.Tensor:
        """Probability that X ends flipped after ``counts`` pulses, from each cell's present X."""
        return self._flip_probability(counts, self.rtn_state)

    def _flip_probability(self, counts: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        p_high, p_low = self.noise.p_high, self.noise.p_low
        total = p_high + p_low
        n = counts.to(self.m1.dtype)
        decay = -torch.expm1(n * math.log1p(-total)) if total < 1.0 else 1.0 - (1.0 - total) ** n
        return torch.where(state, (p_low / total) * decay, (p_high / total) * decay)

    def _shift_pink(self, active: torch.Tensor | None, n: torch.Tensor) -> None:
        """Shift min(n, pole + 1) fresh draws into the histories of the ``active`` cells (flat indices;
        None: every cell, ``n`` then covers them all) and update their FIR sums."""
        slots = self.pink_history.shape[-1]
        history = self.pink_history.view(-1, slots)                      # one row per cell
        shift = n.clamp(max=slots)
        most = int(shift.max())
        old = history if active is None else history.index_select(0, active)
        # Row i of [fresh | old] read from column most - shift_i: shift_i fresh draws, then the old ones.
        # (unfold gives every window as a view; one indexed read copies the chosen window of each cell.)
        rows = torch.cat([self._normal((n.numel(), most)), old], dim=1)
        new = rows.unfold(1, slots, 1)[torch.arange(n.numel(), device=n.device), most - shift]
        fir = new @ self.kasdin
        if active is None:
            history.copy_(new)
            self.pink_fir.view(-1).copy_(fir)
        else:
            history.index_copy_(0, active, new)
            self.pink_fir.view(-1).index_copy_(0, active, fir)

    def gap(self) -> torch.Tensor:
        """Dimensionless gap w of every cell (mean law + RTN + pink)."""
        key = tuple((t.data_ptr(), t._version) for t in (self.pulses, self.rtn_state, self.pink_fir, self.c1, self.m1,
                                                         self.m2, self.t_star, self.a))
        if self._gap is not None and self._gap[0] == key:
            return self._gap[1]
        w = mean_gap(self.pulses, self.c1, self.m1, self.m2, self.t_star)
        if self.components.rtn:
            w = w + self.a * self.rtn_state
        if self.components.pink:
            w = w + self.noise.alpha * self.pink_fir
        self._gap = (key, w)
        return w

    def resistance(self) -> torch.Tensor:
        """R = R0 exp(w), ohm."""
        return self.R0 * torch.exp(self.gap())

    def conductance(self) -> torch.Tensor:
        return 1.0 / self.resistance()

    def log_conductance(self) -> torch.Tensor:
        """ln G = -(w + ln R0), exact (no exp / log round trip)."""
        return -(self.gap() + self.log_R0)

    def saturated(self, polarity: Polarity = Polarity.RESET) -> torch.Tensor:
        """True where the cell is past its slope change t* (further pulses move it m1/m2 times less)."""
        check_polarity(polarity)
        return self.pulses >= self.t_star

    def reset_state(self, mask: torch.Tensor) -> None:
        """Form the masked cells again (a SET): pulse count back to 0; RTN and pink state are kept."""
        self.pulses = torch.where(mask, torch.zeros_like(self.pulses), self.pulses)

    def pulse_energy(self, counts: torch.Tensor, polarity: Polarity = Polarity.RESET) -> torch.Tensor:
        """V^2 / R * width per pulse at the present resistance (J), times the counts: the pulses' Joule
        energy to first order (R rises by m1 R per pulse, a relative 7e-4)."""
        v, width = self.pulse.amplitude_v, self.pulse.width_s
        return counts.to(self.m1.dtype) * (v * v * width) * self.conductance()
