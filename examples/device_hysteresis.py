"""What do cosim's device models do under a sine drive?

Drives every named parameter set (VTEAM 'TEAM' and 'Pt/Hf/Ti', linear ion drift, Stanford-PKU,
data-driven) with its demo sine, prints each loop's key numbers (conductance window, where the loop
opens, loop area, the current at V = 0) and writes three figures:

* device_hysteresis.png: one panel per preset, 10 devices each with 5 % R_on / R_off spread;
* device_seed003_fig4.png: 100 TEAM devices at 50 MHz, continuous and with 10 conductance states
  (the style of seed 003, Fig. 4);
* device_state_vs_time.png: Pt/Hf/Ti drive, state and read resistance against time.

Run: python examples/device_hysteresis.py [output folder, default ./out]
"""
import sys
from pathlib import Path

import numpy as np

from cosim.devices import plots


def loop_numbers(model, preset, drive):
    dev = model.preset(preset, n=1)
    g_off, g_on = dev.conductance_bounds()
    t, v, dt = drive.waveform()
    i = dev.simulate(v, dt)[:, 0]
    area = abs(np.sum(0.5 * (i[1:] + i[:-1]) * np.diff(v)))           # A*V = W (enclosed power)
    at_zero = np.abs(i[np.abs(v) < 1e-9 * drive.amplitude]).max()
    big = np.abs(v) > 0.1 * drive.amplitude
    g = i[big] / v[big]
    return g_off[0], g_on[0], g.min(), g.max(), area, at_zero


def main(out: Path) -> None:
    print(f"{'model / preset':32s} {'G_off (S)':>10s} {'G_on (S)':>10s} {'min I/V':>10s} {'max I/V':>10s} "
          f"{'area (W)':>10s} {'|I| at V=0':>10s}")
    for (model, preset), drive in plots.DEMO_DRIVES.items():
        g_off, g_on, g_lo, g_hi, area, at_zero = loop_numbers(model, preset, drive)
        print(f"{model.__name__ + ' ' + repr(preset):32s} {g_off:10.3e} {g_on:10.3e} {g_lo:10.3e} {g_hi:10.3e} "
              f"{area:10.3e} {at_zero:10.1e}")
    for path in (plots.hysteresis_figure(out / "device_hysteresis.png"),
                 plots.seed003_fig4(out / "device_seed003_fig4.png"),
                 plots.state_figure(out / "device_state_vs_time.png")):
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out"))
