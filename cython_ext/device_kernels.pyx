# cython: language_level=3
"""Fixed-step device kernels: advance all cells of one model over K samples in one call.

No Python runs per step or per cell. The numpy references are the models' ``_step_numpy``
(``cosim.devices.base``); tests check that both agree to 1e-12. Per sample k and cell c, in the
reference's order:

1. failed-to-form cell (g_fixed > 0): current = v * g_fixed, state frozen;
2. current from the model's I-V law at the present state, scaled to the nearest finite conductance
   level when ``levels`` > 1 (the level of the read conductance, as ``nonideal.snap_to_levels``);
3. unless frozen: the model's fixed step (forward Euler, or the exact step of the data-driven
   model), clipped to the cell's state bounds [lo, hi].

Models and the row order of their per-cell parameter table (``ROWS``):

* VTEAM (Kvatinsky 2015), state w (m); options: r_model (0 linear, 1 exponential), window.
* LinearIonDrift (Strukov 2008), state w (m); option: window.
* StanfordPKU, state g (m), gap; noise-free (the noisy variant runs in numpy).
* DataDriven (Messaris 2021), state R (ohm).

Cells are processed in blocks of ``BLOCK`` whose parameters sit in a small stack array while the block
runs over all samples; the block loop is compiled once per model (the model id is a literal at each
call site, so the compiler drops the per-cell model dispatch). With ``stop_on_switch`` the loop is sample-major and returns the first
sample at which some cell starts a new switching cycle (drive polarity non-zero and different from
``last_polarity``), so that the caller can redraw cycle-to-cycle parameters and resume there.
"""
from libc.math cimport exp, expm1, fabs, floor, log, pow, sinh

cdef enum:
    VTEAM = 0
    LINEAR_ION_DRIFT = 1
    STANFORD_PKU = 2
    DATA_DRIVEN = 3

MODEL_IDS = {"VTEAM": VTEAM, "LinearIonDrift": LINEAR_ION_DRIFT, "StanfordPKU": STANFORD_PKU,
             "DataDriven": DATA_DRIVEN}

ROWS = {
    "VTEAM": ("r_on", "r_off", "v_on", "v_off", "k_on", "k_off", "alpha_on", "alpha_off", "w_on", "w_off",
              "p", "j", "v_read"),
    "LinearIonDrift": ("r_on", "r_off", "d", "mu_v", "p", "j", "v_read"),
    "StanfordPKU": ("i0", "g0", "v0", "t0", "r_th", "gamma0", "beta", "t_ox", "f_min", "nu0", "e_a", "a0",
                    "v_read"),
    "DataDriven": ("a_p_rate", "a_n_rate", "t_p", "t_n", "r_p0", "r_p1", "r_n0", "r_n1", "a_p", "a_n", "b_p",
                   "b_n", "v_read"),
}

cdef enum:
    WIN_NONE, WIN_JOGLEKAR, WIN_BIOLEK, WIN_PRODROMAKIS

cdef enum:
    MAX_ROWS = 16
    BLOCK = 64

# Physical constants of the Stanford-PKU parameter set (same values as cosim.devices.stanford_pku).
cdef double Q_E = 1.6e-19
cdef double K_B = 1.3806503e-23
cdef double NM = 1e-9


cdef struct Cell:
    double p[MAX_ROWS]     # the model's parameters, in ROWS order
    double lo, hi          # state bounds
    double g_fixed, g_a, g_b
    bint frozen


cdef struct Options:
    int model, r_model, window, levels, level_in_r
    Py_ssize_t v_read_row
    bint needs_current


# ----------------------------------------------------------------------------- shared pieces
cdef inline double power(double base, double a) noexcept nogil:
    """base ** a with small integer exponents by multiplication (equal to pow within 1 ulp)."""
    if a == 1.0:
        return base
    if a == 2.0:
        return base * base
    if a == 3.0:
        return base * base * base
    return pow(base, a)


cdef inline double window_value(int window, double x, double i, double p, double j) noexcept nogil:
    """Window f(x) (cosim.devices.windows); ``i`` is the current, whose sign Biolek needs."""
    cdef double stp
    if window == WIN_JOGLEKAR:
        return 1.0 - pow(fabs(2.0 * x - 1.0), 2.0 * p)
    if window == WIN_BIOLEK:
        stp = 1.0 if i <= 0 else 0.0
        return 1.0 - pow(fabs(x - stp), 2.0 * p)
    if window == WIN_PRODROMAKIS:
        return j * (1.0 - pow((x - 0.5) ** 2 + 0.75, p))
    return 1.0


cdef inline double snap(double g, double g_a, double g_b, int levels, int level_in_r) noexcept nogil:
    """Nearest of ``levels`` states between g_a and g_b, uniform in G or in R (as snap_to_levels)."""
    cdef double lo = g_a if g_a < g_b else g_b
    cdef double hi = g_b if g_a < g_b else g_a
    cdef double x = g, span, k, tmp
    if level_in_r:
        x = 1.0 / g
        tmp = lo
        lo = 1.0 / hi
        hi = 1.0 / tmp
    span = hi - lo
    if span > 0:
        k = floor((x - lo) / span * (levels - 1) + 0.5)
        if k < 0:
            k = 0
        elif k > levels - 1:
            k = levels - 1
        x = lo + k * (span / (levels - 1))
    return 1.0 / x if level_in_r else x


# ----------------------------------------------------------------------------- model physics
cdef inline double physics_current(int model, const Options* o, const double* p, double v, double s) noexcept nogil:
    """The model's I-V law (A) at voltage v and state s."""
    cdef double x, r
    if model == VTEAM:
        x = (s - p[8]) / (p[9] - p[8])
        if o.r_model == 0:
            r = p[0] + (p[1] - p[0]) * x
        else:
            r = p[0] * exp(log(p[1] / p[0]) * x)
        return v / r
    if model == LINEAR_ION_DRIFT:
        x = s / p[2]
        return v / (p[0] * x + p[1] * (1.0 - x))
    if model == STANFORD_PKU:
        return p[0] * exp(-s / p[1]) * sinh(v / p[2])
    if v > 0:                                          # DATA_DRIVEN
        return p[8] * sinh(p[10] * v) / s
    return p[9] * sinh(p[11] * v) / s


cdef inline int polarity(int model, const Options* o, const double* p, double v, double s) noexcept nogil:
    """+1 / -1 while the cell's state is being driven, 0 otherwise (as the models' _polarity)."""
    cdef double gamma
    if model == VTEAM:
        if v > p[3]:
            return 1
        if v < p[2]:
            return -1
        return 0
    if model == LINEAR_ION_DRIFT:
        return (v > 0) - (v < 0)
    if model == STANFORD_PKU:
        gamma = p[5] - p[6] * (s / NM) ** 3
        if gamma * fabs(v) / p[7] < p[8] or gamma == 0:
            return 0
        return (v > 0) - (v < 0)
    if v > 0:
        return 1 if s > p[4] + p[5] * v else 0
    if v < 0:
        return -1 if s < p[6] + p[7] * v else 0
    return 0


cdef inline double advance(int model, const Options* o, const double* p, double v, double s, double i,
                           double dt) noexcept nogil:
    """The model's fixed step from state s at voltage v (physics current i); not yet clipped."""
    cdef double drive, x, temp, kt, gamma, rate, su, target, srate
    if model == VTEAM:
        if v > p[3]:
            drive = p[5] * power(v / p[3] - 1.0, p[7])
        elif v < p[2]:
            drive = p[4] * power(v / p[2] - 1.0, p[6])
        else:
            return s
        if o.window != WIN_NONE:
            drive = drive * window_value(o.window, (s - p[8]) / (p[9] - p[8]), i, p[10], p[11])
        return s + dt * drive
    if model == LINEAR_ION_DRIFT:
        rate = p[3] * p[0] / p[2] * i * window_value(o.window, s / p[2], i, p[4], p[5])
        return s + dt * rate
    if model == STANFORD_PKU:
        temp = p[3] + fabs(v * i * p[4])
        kt = K_B * temp
        gamma = p[5] - p[6] * (s / NM) ** 3
        if gamma * fabs(v) / p[7] < p[8]:
            gamma = 0.0
        rate = -p[9] * exp(-Q_E * p[10] / kt) * sinh(gamma * p[11] * Q_E * v / (p[7] * kt))
        return s + dt * rate
    # DATA_DRIVEN: exact step of dR/dt = s(V) (r(V) - R)^2 while R is beyond r(V)
    if v > 0:
        target = p[4] + p[5] * v
        if not s > target:
            return s
        srate = p[0] * expm1(fabs(v) / p[2])
    elif v < 0:
        target = p[6] + p[7] * v
        if not s < target:
            return s
        srate = p[1] * expm1(fabs(v) / p[3])
    else:
        return s
    su = srate * (target - s) * dt
    return (s + su * target) / (1.0 + su)


# ----------------------------------------------------------------------------- one cell, one sample
cdef inline double observed_current(int model, const Options* o, const Cell* c, double v, double s) noexcept nogil:
    """What is measured: the I-V law, scaled to the finite level; ohmic for unformed cells."""
    cdef double i, g, v_read
    if c.g_fixed > 0:
        return v * c.g_fixed
    i = physics_current(model, o, c.p, v, s)
    if o.levels > 1:
        v_read = c.p[o.v_read_row]
        g = physics_current(model, o, c.p, v_read, s) / v_read
        i = i * (snap(g, c.g_a, c.g_b, o.levels, o.level_in_r) / g)
    return i


cdef inline double next_state(int model, const Options* o, const Cell* c, double v, double s, double dt) noexcept nogil:
    """State after one step of dt, clipped to the cell's bounds (the caller skips frozen cells)."""
    cdef double i = 0.0, s_new
    if o.needs_current:
        i = physics_current(model, o, c.p, v, s)
    s_new = advance(model, o, c.p, v, s, i, dt)
    if s_new < c.lo:
        return c.lo
    if s_new > c.hi:
        return c.hi
    return s_new


cdef inline void load_cell(Cell* cell, const double[:, ::1] params, Py_ssize_t c, Py_ssize_t rows,
                           const double[::1] lo, const double[::1] hi, const unsigned char[::1] frozen,
                           const double[::1] g_fixed, const double[::1] g_a, const double[::1] g_b) noexcept nogil:
    cdef Py_ssize_t r
    for r in range(rows):
        cell.p[r] = params[r, c]
    cell.lo = lo[c]
    cell.hi = hi[c]
    cell.g_fixed = g_fixed[c]
    cell.g_a = g_a[c]
    cell.g_b = g_b[c]
    cell.frozen = frozen[c] != 0 or g_fixed[c] > 0


cdef inline void run_blocks(int model, const Options* o, const double[:, ::1] volts, double dt, double[::1] state,
                            double[:, ::1] out, bint record, Py_ssize_t k_start, Py_ssize_t c_begin,
                            Py_ssize_t c_end, Py_ssize_t rows, const double[:, ::1] params, const double[::1] lo,
                            const double[::1] hi, const unsigned char[::1] frozen, const double[::1] g_fixed,
                            const double[::1] g_a, const double[::1] g_b) noexcept nogil:
    """Cell-blocked loop over samples for one model (``model`` is a literal at every call site, so
    the compiler drops the per-cell model dispatch)."""
    cdef Cell cells[BLOCK]
    cdef Py_ssize_t K = volts.shape[0], m = volts.shape[1], k, b, c, nb
    cdef Py_ssize_t c0 = c_begin
    cdef double v
    while c0 < c_end:
        nb = BLOCK if c0 + BLOCK <= c_end else c_end - c0
        for b in range(nb):
            load_cell(&cells[b], params, c0 + b, rows, lo, hi, frozen, g_fixed, g_a, g_b)
        for k in range(k_start, K):
            if m == 1 and not record:          # the common long run: one waveform, nothing recorded
                v = volts[k, 0]
                for b in range(nb):
                    if not cells[b].frozen:
                        state[c0 + b] = next_state(model, o, &cells[b], v, state[c0 + b], dt)
                continue
            for b in range(nb):
                c = c0 + b
                v = volts[k, 0] if m == 1 else volts[k, c]
                if record:
                    out[k, c] = observed_current(model, o, &cells[b], v, state[c])
                if not cells[b].frozen:
                    state[c] = next_state(model, o, &cells[b], v, state[c], dt)
        c0 += nb


# ----------------------------------------------------------------------------- driver
def run(str model, const double[:, ::1] volts, double dt, double[::1] state, double[:, ::1] out,
        signed char[::1] last_polarity, int stop_on_switch, Py_ssize_t k_start, *,
        const double[:, ::1] params, const double[::1] lo, const double[::1] hi,
        const unsigned char[::1] frozen, const double[::1] g_fixed, const double[::1] g_a,
        const double[::1] g_b, int levels=0, int level_in_r=0, int r_model=0, int window=0,
        Py_ssize_t c_begin=0, Py_ssize_t c_end=-1):
    """Advance ``state`` (updated in place) over samples ``k_start`` .. K-1 of ``volts``.

    model: a key of ROWS; params: (len(ROWS[model]), n) per-cell table; lo, hi: state bounds (n,).
    volts: (K, n) per-cell voltages, or (K, 1) one waveform for all cells (V); dt in s.
    out: (K, n) currents (A) written at the samples run, or None.
    frozen / g_fixed: stuck cells / conductance of unformed cells (0 = formed); g_a, g_b: the bounds
    of the finite levels (read conductance at the two state bounds); levels 0 = continuous.
    Returns the sample index where it stopped: K when done, or the first switching-event sample
    when ``stop_on_switch`` is set. Only cells ``c_begin`` .. ``c_end``-1 are touched (c_end = -1:
    all); calls on disjoint ranges may run concurrently in threads (the loop runs without the GIL).
    """
    if model not in ROWS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(ROWS)}")
    cdef Py_ssize_t rows = len(ROWS[model])
    cdef Py_ssize_t n = state.shape[0], K = volts.shape[0], m = volts.shape[1]
    cdef Py_ssize_t k, c, stop = K
    cdef bint record = out is not None
    cdef double v
    cdef int pol
    cdef Options o
    cdef Cell cell
    o.model = MODEL_IDS[model]
    o.r_model = r_model
    o.window = window
    o.levels = levels
    o.level_in_r = level_in_r
    o.v_read_row = rows - 1
    o.needs_current = o.model == LINEAR_ION_DRIFT or o.model == STANFORD_PKU or (
        o.model == VTEAM and window == WIN_BIOLEK)
    if params.shape[0] != rows or params.shape[1] != n:
        raise ValueError(f"params must have shape ({rows}, {n}); got {(params.shape[0], params.shape[1])}")
    if m != 1 and m != n:
        raise ValueError(f"volts must have shape (K, 1) or (K, {n}); got {(K, m)}")
    for name, arr in (("lo", lo), ("hi", hi), ("frozen", frozen), ("g_fixed", g_fixed), ("g_a", g_a),
                      ("g_b", g_b), ("last_polarity", last_polarity)):
        if arr.shape[0] != n:
            raise ValueError(f"{name} must have shape ({n},); got ({arr.shape[0]},)")
    if record and (out.shape[0] != K or out.shape[1] != n):
        raise ValueError(f"out must have shape ({K}, {n}); got {(out.shape[0], out.shape[1])}")
    if not 0 <= k_start <= K:
        raise ValueError(f"k_start must be in [0, {K}]; got {k_start}")
    if c_end < 0:
        c_end = n
    if not 0 <= c_begin <= c_end <= n:
        raise ValueError(f"cell range must satisfy 0 <= c_begin <= c_end <= {n}; got [{c_begin}, {c_end})")
    if stop_on_switch and (c_begin != 0 or c_end != n):
        raise ValueError("stop_on_switch needs the whole cell range (events are global per sample)")
    with nogil:
        if stop_on_switch:
            # Sample-major: look for a new switching cycle in every cell before stepping any.
            for k in range(k_start, K):
                for c in range(n):
                    load_cell(&cell, params, c, rows, lo, hi, frozen, g_fixed, g_a, g_b)
                    pol = polarity(o.model, &o, cell.p, volts[k, 0] if m == 1 else volts[k, c], state[c])
                    if pol != 0 and pol != last_polarity[c]:
                        stop = k
                        break
                if stop < K:
                    break
                for c in range(n):
                    load_cell(&cell, params, c, rows, lo, hi, frozen, g_fixed, g_a, g_b)
                    v = volts[k, 0] if m == 1 else volts[k, c]
                    if record:
                        out[k, c] = observed_current(o.model, &o, &cell, v, state[c])
                    if not cell.frozen:
                        state[c] = next_state(o.model, &o, &cell, v, state[c], dt)
        elif o.model == VTEAM:
            run_blocks(VTEAM, &o, volts, dt, state, out, record, k_start, c_begin, c_end, rows, params, lo, hi,
                       frozen, g_fixed, g_a, g_b)
        elif o.model == LINEAR_ION_DRIFT:
            run_blocks(LINEAR_ION_DRIFT, &o, volts, dt, state, out, record, k_start, c_begin, c_end, rows, params,
                       lo, hi, frozen, g_fixed, g_a, g_b)
        elif o.model == STANFORD_PKU:
            run_blocks(STANFORD_PKU, &o, volts, dt, state, out, record, k_start, c_begin, c_end, rows, params,
                       lo, hi, frozen, g_fixed, g_a, g_b)
        else:
            run_blocks(DATA_DRIVEN, &o, volts, dt, state, out, record, k_start, c_begin, c_end, rows, params,
                       lo, hi, frozen, g_fixed, g_a, g_b)
    return stop
