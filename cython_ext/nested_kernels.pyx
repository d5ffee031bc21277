# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
"""Numeric kernels of the nested-dissection crossbar solver (:mod:`cosim.solve.nested`).

Three entry points walk the whole tree (see :mod:`cosim.solve.nested_tree` for the geometry):
``factor_tree`` (multifrontal Cholesky), ``forward_tree`` and ``backward_tree`` (substitutions). The
subtrees below the first level with enough rectangles run in parallel on OpenMP threads, each in
postorder; the few levels above run on one thread. Hundreds of thousands of tiny fronts thus cost
no Python overhead. Large fronts go to LAPACK/BLAS (dpotrf, dtrsm, dsyrk, dgemm: the caller limits
BLAS to one thread per call), small ones to plain loops. Results do not depend on the thread count.

Sections: data layout; geometry (which unknowns a front holds, the chain beside a separator);
tridiagonal chains; dense fronts; assembly; one node; the whole tree (entry points).

Conventions shared with the Python side:
- unknowns are numbered ``u[i, j] -> i N + j`` and ``b[i, j] -> M N + i N + j``;
- the nodal matrix is given by five (M, N) arrays in siemens: the diagonals ``du``, ``db`` and the
  coupling conductances ``cw`` (u[i,j]-u[i,j+1]), ``cb`` (b[i,j]-b[i+1,j]) and ``cc`` (u[i,j]-b[i,j]);
  the matrix entry of a coupling is minus its conductance;
- a front lists its pivots, then its boundary sides left, right, top, bottom (those inside the grid);
  fronts and factor panels are column-major with leading dimension = front size, and only their
  lower triangles are meaningful; update matrices are packed lower triangles (by columns);
- the children of node k of a cut level are nodes 2k and 2k+1 of the next level;
- ``pos`` arrays (one row of 2 M N int32 per thread) are all -1 between uses.
"""
import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport sqrt
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, dgemv, dsyrk, dtrsm, dtrsv
from scipy.linalg.cython_lapack cimport dpotrf

cdef enum:
    LEAF = 0         # codes of cosim.solve.nested_tree.Cut
    VERTICAL = 1
    HORIZONTAL = 2
    MAX_RUNS = 16    # contiguous runs tracked by extend_add (a rectangle's boundary has at most 4)

# below this many flops a front is eliminated by plain loops (BLAS call overhead dominates)
cdef double BLAS_MIN_FLOPS = 40000.0


def set_blas_min_flops(double flops):
    """Tuning knob: fronts with fewer flops than this are eliminated by plain loops. Returns the old value."""
    global BLAS_MIN_FLOPS
    old = BLAS_MIN_FLOPS
    BLAS_MIN_FLOPS = flops
    return old


# ---- data layout ---------------------------------------------------------------------------------
cdef struct Grid:
    int64_t M, N, MN
    const double* du
    const double* db
    const double* cw
    const double* cb
    const double* cc
    const int64_t* ymap  # row of Y holding each unknown (NULL: row = unknown)


cdef struct Level:
    # the rectangles of one tree level
    int kind
    int64_t n
    const int64_t* r0
    const int64_t* r1
    const int64_t* c0
    const int64_t* c1
    const int64_t* line


cdef struct Node:
    int kind
    int64_t r0, r1, c0, c1, line


cdef struct Chain:
    # the isolated line left by a cut: its nodes, matrix, couplings to the separator and to its two ends
    int64_t n
    int64_t* gidx        # (n,) global unknowns of the chain
    double* diag         # (n,) diagonal of the chain matrix
    double* off          # (n - 1,) conductance between chain nodes i and i + 1
    double* cell         # (n,) conductance from chain node i to separator node i (front position i)
    int64_t end0, end1   # global unknowns coupled to the first / last chain node (-1: none)
    double g_end0, g_end1


cdef struct Work:
    # one thread's scratch
    double* F            # front, max_front^2 (factor) / front right-hand sides, max_front * nrhs (solve)
    double* Z            # chain inverse, max_chain^2 (factor) / chain right-hand sides (solve)
    double* tri          # 3 * max_front: chain diagonal, off-diagonal, cell couplings
    int64_t* gidx        # max_front: the front's unknowns
    int64_t* cgidx       # max_front: a chain's or a child's unknowns
    int* pos             # 2 M N: front position of each unknown, -1 elsewhere
    int64_t failed       # a node this thread could not process (-1: none) ...
    int failed_level     # ... and its level


cdef Grid make_grid(const double[:, ::1] du, const double[:, ::1] db, const double[:, ::1] cw,
                    const double[:, ::1] cb, const double[:, ::1] cc) except *:
    cdef Grid g
    g.M = du.shape[0]
    g.N = du.shape[1]
    g.MN = g.M * g.N
    if (db.shape[0] != g.M or db.shape[1] != g.N or cw.shape[0] != g.M or cw.shape[1] != g.N
            or cb.shape[0] != g.M or cb.shape[1] != g.N or cc.shape[0] != g.M or cc.shape[1] != g.N):
        raise ValueError(f"all value arrays must have shape ({g.M}, {g.N})")
    g.du = &du[0, 0]
    g.db = &db[0, 0]
    g.cw = &cw[0, 0]
    g.cb = &cb[0, 0]
    g.cc = &cc[0, 0]
    g.ymap = NULL
    return g


cdef Level make_level(int kind, const int64_t[::1] r0, const int64_t[::1] r1, const int64_t[::1] c0,
                      const int64_t[::1] c1, const int64_t[::1] line) except *:
    cdef Level lev
    lev.kind = kind
    lev.n = r0.shape[0]
    if r1.shape[0] != lev.n or c0.shape[0] != lev.n or c1.shape[0] != lev.n or line.shape[0] != lev.n:
        raise ValueError("level geometry arrays must have equal lengths")
    lev.r0, lev.r1, lev.c0, lev.c1, lev.line = &r0[0], &r1[0], &c0[0], &c1[0], &line[0]
    return lev


cdef Work* make_work(int[:, ::1] pos, double[:, ::1] scratch, int64_t scratch_split, int64_t max_front,
                     int n_threads, int64_t n_unknowns) except NULL:
    """Per-thread scratch: F = scratch[t, :split], Z = scratch[t, split:]; small index arrays malloc'ed."""
    cdef int t
    cdef Work* work
    if pos.shape[0] < n_threads or scratch.shape[0] < n_threads or pos.shape[1] != n_unknowns:
        raise ValueError(f"pos and scratch need one row per thread ({n_threads}); pos rows of {n_unknowns}")
    work = <Work*>malloc(n_threads * sizeof(Work))
    if work == NULL:
        raise MemoryError("nested dissection: no memory for thread scratch")
    for t in range(n_threads):
        work[t].F = &scratch[t, 0]
        work[t].Z = &scratch[t, 0] + scratch_split
        work[t].pos = &pos[t, 0]
        work[t].failed = -1
        work[t].failed_level = -1
        work[t].tri = <double*>malloc(3 * max_front * sizeof(double))
        work[t].gidx = <int64_t*>malloc(2 * max_front * sizeof(int64_t))
        work[t].cgidx = work[t].gidx + max_front if work[t].gidx != NULL else NULL
        if work[t].tri == NULL or work[t].gidx == NULL:
            free_work(work, t + 1)
            raise MemoryError("nested dissection: no memory for thread scratch")
    return work


cdef int64_t first_failure(const Work* work, int n_threads) noexcept nogil:
    cdef int t
    for t in range(n_threads):
        if work[t].failed >= 0:
            return work[t].failed
    return -1


cdef object failure_of(const Work* work, int n_threads):
    """(level, node) of the first recorded failure, or None."""
    cdef int t
    for t in range(n_threads):
        if work[t].failed >= 0:
            return (work[t].failed_level, work[t].failed)
    return None


cdef void free_work(Work* work, int n_threads) noexcept:
    cdef int t
    for t in range(n_threads):
        free(work[t].tri)
        free(work[t].gidx)
    free(work)


cdef inline Node node_at(const Level* lev, int64_t k) noexcept nogil:
    cdef Node nd
    nd.kind = lev.kind
    nd.r0 = lev.r0[k]
    nd.r1 = lev.r1[k]
    nd.c0 = lev.c0[k]
    nd.c1 = lev.c1[k]
    nd.line = lev.line[k]
    return nd


cdef inline int64_t packed_start(int64_t j, int64_t n) noexcept nogil:
    """Start of column j of a packed lower-triangular n x n matrix (column-major)."""
    return j * (2 * n - j + 1) // 2


# ---- geometry ------------------------------------------------------------------------------------
cdef int64_t front_nodes(const Grid* g, const Node* nd, int64_t* gidx, int64_t* n_piv) noexcept nogil:
    """Fill ``gidx`` with the front's global unknowns (pivots, then boundary); return the front size."""
    cdef int64_t i, j, n = 0
    if nd.kind == LEAF:
        for i in range(nd.r0, nd.r1):
            for j in range(nd.c0, nd.c1):
                gidx[n] = i * g.N + j
                n += 1
        for i in range(nd.r0, nd.r1):
            for j in range(nd.c0, nd.c1):
                gidx[n] = g.MN + i * g.N + j
                n += 1
    elif nd.kind == VERTICAL:
        for i in range(nd.r0, nd.r1):
            gidx[n] = i * g.N + nd.line
            n += 1
    else:
        for j in range(nd.c0, nd.c1):
            gidx[n] = g.MN + nd.line * g.N + j
            n += 1
    n_piv[0] = n
    if nd.c0 > 0:
        for i in range(nd.r0, nd.r1):
            gidx[n] = i * g.N + nd.c0 - 1
            n += 1
    if nd.c1 < g.N:
        for i in range(nd.r0, nd.r1):
            gidx[n] = i * g.N + nd.c1
            n += 1
    if nd.r0 > 0:
        for j in range(nd.c0, nd.c1):
            gidx[n] = g.MN + (nd.r0 - 1) * g.N + j
            n += 1
    if nd.r1 < g.M:
        for j in range(nd.c0, nd.c1):
            gidx[n] = g.MN + nd.r1 * g.N + j
            n += 1
    return n


cdef void chain_of(const Grid* g, const Node* nd, Chain* ch) noexcept nogil:
    """Describe the chain of a cut node (its arrays must hold the node's pivot count)."""
    cdef int64_t k, s
    if nd.kind == VERTICAL:      # b[r0:r1, line], ends b[r0-1, line] and b[r1, line]
        ch.n = nd.r1 - nd.r0
        for k in range(ch.n):
            s = (nd.r0 + k) * g.N + nd.line
            ch.gidx[k] = g.MN + s
            ch.diag[k] = g.db[s]
            ch.cell[k] = g.cc[s]
            if k + 1 < ch.n:
                ch.off[k] = g.cb[s]
        ch.end0 = g.MN + (nd.r0 - 1) * g.N + nd.line if nd.r0 > 0 else -1
        ch.g_end0 = g.cb[(nd.r0 - 1) * g.N + nd.line] if nd.r0 > 0 else 0.0
        ch.end1 = g.MN + nd.r1 * g.N + nd.line if nd.r1 < g.M else -1
        ch.g_end1 = g.cb[(nd.r1 - 1) * g.N + nd.line] if nd.r1 < g.M else 0.0
    else:                        # u[line, c0:c1], ends u[line, c0-1] and u[line, c1]
        ch.n = nd.c1 - nd.c0
        for k in range(ch.n):
            s = nd.line * g.N + nd.c0 + k
            ch.gidx[k] = s
            ch.diag[k] = g.du[s]
            ch.cell[k] = g.cc[s]
            if k + 1 < ch.n:
                ch.off[k] = g.cw[s]
        ch.end0 = nd.line * g.N + nd.c0 - 1 if nd.c0 > 0 else -1
        ch.g_end0 = g.cw[nd.line * g.N + nd.c0 - 1] if nd.c0 > 0 else 0.0
        ch.end1 = nd.line * g.N + nd.c1 if nd.c1 < g.N else -1
        ch.g_end1 = g.cw[nd.line * g.N + nd.c1 - 1] if nd.c1 < g.N else 0.0


cdef inline void bind_chain(Chain* ch, Work* w, int64_t max_front) noexcept nogil:
    ch.diag = w.tri
    ch.off = w.tri + max_front
    ch.cell = w.tri + 2 * max_front
    ch.gidx = w.cgidx


# ---- tridiagonal chains --------------------------------------------------------------------------
cdef int tri_factor(const Chain* ch, double* d, double* ell) noexcept nogil:
    """LDL^T of the chain matrix: ``d`` pivots, ``ell[i]`` = L[i, i-1]. Returns 0, or i + 1 if pivot i <= 0."""
    cdef int64_t i
    d[0] = ch.diag[0]
    ell[0] = 0.0
    if not d[0] > 0.0:
        return 1
    for i in range(1, ch.n):
        ell[i] = -ch.off[i - 1] / d[i - 1]
        d[i] = ch.diag[i] + ell[i] * ch.off[i - 1]
        if not d[i] > 0.0:
            return <int>i + 1
    return 0


cdef void tri_inverse_lower(int64_t n, const double* d, const double* ell, double* z) noexcept nogil:
    """Lower triangle of the inverse (n x n, column-major) of the chain matrix from its LDL^T, O(n^2).

    Column j, rows j..n-1: y = L^-1 e_j (zero above row j), then D^-1, then the back sweep L^-T,
    which for rows >= j needs nothing above row j. The upper triangle is left unset.
    """
    cdef int64_t i, j
    cdef double* col
    for j in range(n):
        col = z + j * n
        col[j] = 1.0
        i = j + 1
        while i < n:
            col[i] = -ell[i] * col[i - 1]
            if -1e-280 < col[i] < 1e-280:  # underflow: the rest of the column is zero
                break
            i += 1
        while i < n:
            col[i] = 0.0
            i += 1
        for i in range(j, n):
            col[i] /= d[i]
        for i in range(n - 2, j - 1, -1):
            col[i] -= ell[i + 1] * col[i + 1]


cdef void tri_solve(int64_t n, const double* d, const double* ell, double* y, int64_t nrhs) noexcept nogil:
    """Solve (chain matrix) x = y in place for ``nrhs`` right-hand sides (y row-major n x nrhs)."""
    cdef int64_t i, r
    cdef double li
    for i in range(1, n):
        li = ell[i]
        for r in range(nrhs):
            y[i * nrhs + r] -= li * y[(i - 1) * nrhs + r]
    for i in range(n):
        li = 1.0 / d[i]
        for r in range(nrhs):
            y[i * nrhs + r] *= li
    for i in range(n - 2, -1, -1):
        li = ell[i + 1]
        for r in range(nrhs):
            y[i * nrhs + r] -= li * y[(i + 1) * nrhs + r]


# ---- dense fronts --------------------------------------------------------------------------------
cdef int partial_cholesky(double* F, int f, int p) noexcept nogil:
    """Eliminate the first ``p`` of ``f`` unknowns of the symmetric front F (lower triangle used).

    On return the first p columns hold the Cholesky panel [L11; L21] and the trailing lower triangle
    the update ``A22 - L21 L21^T``. Returns 0, or k + 1 if pivot k is not positive.
    """
    cdef int b = f - p, info = 0, k, i, j
    cdef double one = 1.0, minus_one = -1.0, dkk, inv, ljk
    cdef double* colk
    cdef double* colj
    cdef char lo = b'L', tr = b'T', nt = b'N', right = b'R'
    if p == 0:
        return 0
    if <double>p * (p * p / 3.0 + <double>p * b + <double>b * b) >= BLAS_MIN_FLOPS:
        dpotrf(&lo, &p, F, &f, &info)
        if info != 0:
            return info
        if b > 0:
            dtrsm(&right, &lo, &tr, &nt, &b, &p, &one, F, &f, F + p, &f)
            dsyrk(&lo, &nt, &b, &p, &minus_one, F + p, &f, &one, F + p + <int64_t>p * f, &f)
        return 0
    for k in range(p):
        colk = F + <int64_t>k * f
        if not colk[k] > 0.0:
            return k + 1
        dkk = sqrt(colk[k])
        colk[k] = dkk
        inv = 1.0 / dkk
        for i in range(k + 1, f):
            colk[i] *= inv
        for j in range(k + 1, f):
            ljk = colk[j]
            if ljk != 0.0:
                colj = F + <int64_t>j * f
                for i in range(j, f):
                    colj[i] -= colk[i] * ljk
    return 0


cdef void forward_front(const double* L, int f, int p, double* W, int ncols, int ld) noexcept nogil:
    """W (f x ncols, row stride ld) <- [L11^-1 W_S; W_B - L21 L11^-1 W_S]."""
    cdef int k, i, r, b = f - p
    cdef double one = 1.0, minus_one = -1.0, inv, lik, wk0
    cdef const double* col
    cdef double* wk
    cdef double* wi
    cdef char lo = b'L', tr = b'T', nt = b'N', right = b'R'
    if ncols <= 0:
        return
    if <double>p * f * ncols >= BLAS_MIN_FLOPS:
        if ncols == 1:
            dtrsv(&lo, &nt, &nt, &p, <double*>L, &f, W, &ld)
            if b > 0:
                dgemv(&nt, &b, &p, &minus_one, <double*>L + p, &f, W, &ld, &one, W + <int64_t>p * ld, &ld)
        else:
            dtrsm(&right, &lo, &tr, &nt, &ncols, &p, &one, <double*>L, &f, W, &ld)
            if b > 0:
                dgemm(&nt, &tr, &ncols, &b, &p, &minus_one, W, &ld, <double*>L + p, &f, &one,
                      W + <int64_t>p * ld, &ld)
        return
    if ld == 1:
        for k in range(p):
            col = L + <int64_t>k * f
            W[k] /= col[k]
            wk0 = W[k]
            for i in range(k + 1, f):
                W[i] -= col[i] * wk0
        return
    for k in range(p):
        wk = W + <int64_t>k * ld
        inv = 1.0 / L[k + <int64_t>k * f]
        for r in range(ncols):
            wk[r] *= inv
        for i in range(k + 1, f):
            lik = L[i + <int64_t>k * f]
            if lik != 0.0:
                wi = W + <int64_t>i * ld
                for r in range(ncols):
                    wi[r] -= lik * wk[r]


cdef void backward_front(const double* L, int f, int p, double* W, int nrhs) noexcept nogil:
    """W_S (first p rows of W, f x nrhs row-major) <- L11^-T (W_S - L21^T W_B)."""
    cdef int k, i, r, b = f - p, inc = 1
    cdef double one = 1.0, minus_one = -1.0, inv, lik, wk0, acc
    cdef const double* col
    cdef double* wk
    cdef double* wi
    cdef char lo = b'L', tr = b'T', nt = b'N', right = b'R'
    if <double>p * f * nrhs >= BLAS_MIN_FLOPS:
        if nrhs == 1:
            if b > 0:
                dgemv(&tr, &b, &p, &minus_one, <double*>L + p, &f, W + p, &inc, &one, W, &inc)
            dtrsv(&lo, &tr, &nt, &p, <double*>L, &f, W, &inc)
        else:
            if b > 0:
                dgemm(&nt, &nt, &nrhs, &p, &b, &minus_one, W + <int64_t>p * nrhs, &nrhs, <double*>L + p, &f,
                      &one, W, &nrhs)
            dtrsm(&right, &lo, &nt, &nt, &nrhs, &p, &one, <double*>L, &f, W, &nrhs)
        return
    if nrhs == 1:
        for k in range(p - 1, -1, -1):
            col = L + <int64_t>k * f
            acc = W[k]
            for i in range(k + 1, f):
                acc -= col[i] * W[i]
            W[k] = acc / col[k]
        return
    for k in range(p - 1, -1, -1):
        wk = W + <int64_t>k * nrhs
        for i in range(k + 1, f):
            lik = L[i + <int64_t>k * f]
            if lik != 0.0:
                wi = W + <int64_t>i * nrhs
                for r in range(nrhs):
                    wk[r] -= lik * wi[r]
        inv = 1.0 / L[k + <int64_t>k * f]
        for r in range(nrhs):
            wk[r] *= inv


# ---- assembly ------------------------------------------------------------------------------------
cdef inline void add_lower(double* F, int64_t f, int64_t a, int64_t b, double v) noexcept nogil:
    """F[a, b] += v for the symmetric front F, into whichever of (a, b), (b, a) is in the lower triangle."""
    if a >= b:
        F[a + b * f] += v
    else:
        F[b + a * f] += v


cdef void assemble_leaf(const Grid* g, const Node* nd, double* F, int64_t f, int64_t p) noexcept nogil:
    """Stamp a leaf rectangle's nodal-matrix entries (its own rows) into its zeroed front."""
    cdef int64_t h = nd.r1 - nd.r0, w = nd.c1 - nd.c0, hw = h * w
    cdef int64_t i, j, a, s
    cdef int64_t off_l = p
    cdef int64_t off_r = off_l + (h if nd.c0 > 0 else 0)
    cdef int64_t off_t = off_r + (h if nd.c1 < g.N else 0)
    cdef int64_t off_b = off_t + (w if nd.r0 > 0 else 0)
    for i in range(h):
        for j in range(w):
            a = i * w + j                      # u(i, j); its b partner is a + hw
            s = (nd.r0 + i) * g.N + nd.c0 + j
            F[a + a * f] = g.du[s]
            F[a + hw + (a + hw) * f] = g.db[s]
            add_lower(F, f, a, a + hw, -g.cc[s])
            if j + 1 < w:
                add_lower(F, f, a, a + 1, -g.cw[s])
            if i + 1 < h:
                add_lower(F, f, a + hw, a + hw + w, -g.cb[s])
    for i in range(h):
        s = (nd.r0 + i) * g.N
        if nd.c0 > 0:
            add_lower(F, f, i * w, off_l + i, -g.cw[s + nd.c0 - 1])
        if nd.c1 < g.N:
            add_lower(F, f, i * w + w - 1, off_r + i, -g.cw[s + nd.c1 - 1])
    for j in range(w):
        if nd.r0 > 0:
            add_lower(F, f, hw + j, off_t + j, -g.cb[(nd.r0 - 1) * g.N + nd.c0 + j])
        if nd.r1 < g.M:
            add_lower(F, f, hw + (h - 1) * w + j, off_b + j, -g.cb[(nd.r1 - 1) * g.N + nd.c0 + j])


cdef void add_chain(double* F, int64_t f, const Chain* ch, const double* z, const int* pos) noexcept nogil:
    """Subtract the chain's Schur complement C Z C^T (Z: lower triangle of the chain inverse).

    The chain couples node i to front position i (the separator) and its ends to boundary nodes,
    which come after the separator in the front.
    """
    cdef int64_t n = ch.n, i, j
    cdef int64_t p0 = pos[ch.end0] if ch.end0 >= 0 else -1
    cdef int64_t p1 = pos[ch.end1] if ch.end1 >= 0 else -1
    cdef double cj
    cdef double* col
    for j in range(n):
        cj = ch.cell[j]
        col = F + j * f
        for i in range(j, n):
            col[i] -= ch.cell[i] * z[i + j * n] * cj
    if p0 >= 0:
        for i in range(n):
            F[p0 + i * f] -= ch.cell[i] * z[i] * ch.g_end0                # Z[i, 0]
        F[p0 + p0 * f] -= ch.g_end0 * z[0] * ch.g_end0
    if p1 >= 0:
        for i in range(n):
            F[p1 + i * f] -= ch.cell[i] * z[(n - 1) + i * n] * ch.g_end1  # Z[n-1, i]
        F[p1 + p1 * f] -= ch.g_end1 * z[n * n - 1] * ch.g_end1
    if p0 >= 0 and p1 >= 0:
        add_lower(F, f, p0, p1, -ch.g_end0 * z[n - 1] * ch.g_end1)


cdef int to_positions(int64_t* idx, int64_t n, const int* pos) noexcept nogil:
    """Replace global unknowns by their positions in the current front; -1 if one is not in it."""
    cdef int64_t i
    for i in range(n):
        idx[i] = pos[idx[i]]
        if idx[i] < 0:
            return -1
    return 0


cdef void extend_add(double* F, int64_t f, const double* U, int64_t bc, const int64_t* where) noexcept nogil:
    """Add a child's update matrix (bc x bc, packed lower) into the parent front's lower triangle.

    Child boundary node i sits at front position ``where[i]``. The child's boundary sides land on
    contiguous runs of front positions, so each column is added run by run: straight into a column
    of F where the run lies below the diagonal, across a row of F (by symmetry) where it lies above.
    """
    cdef int64_t starts[MAX_RUNS + 1]
    cdef int64_t i, j, r, a, m0, mj, n_runs = 0
    cdef const double* col
    cdef double* dst
    starts[0] = 0
    for i in range(1, bc):
        if where[i] != where[i - 1] + 1:
            n_runs += 1
            if n_runs == MAX_RUNS:           # not a rectangle's boundary: entry by entry
                extend_add_scattered(F, f, U, bc, where)
                return
            starts[n_runs] = i
    n_runs += 1
    starts[n_runs] = bc
    for j in range(bc):
        mj = where[j]
        col = U + packed_start(j, bc) - j    # col[i] = U[i, j] for i >= j
        for r in range(n_runs):
            if starts[r + 1] <= j:
                continue
            a = starts[r] if starts[r] > j else j
            m0 = where[a]
            if m0 >= mj:
                dst = F + mj * f + m0 - a
                for i in range(a, starts[r + 1]):
                    dst[i] += col[i]
            else:
                dst = F + mj + (m0 - a) * f
                for i in range(a, starts[r + 1]):
                    dst[i * f] += col[i]


cdef void extend_add_scattered(double* F, int64_t f, const double* U, int64_t bc,
                               const int64_t* where) noexcept nogil:
    """extend_add for any placement of the child's boundary, entry by entry."""
    cdef int64_t i, j, mi, mj
    cdef const double* col
    for j in range(bc):
        col = U + packed_start(j, bc) - j
        mj = where[j]
        for i in range(j, bc):
            mi = where[i]
            if mi >= mj:
                F[mi + mj * f] += col[i]
            else:
                F[mj + mi * f] += col[i]


# ---- one node ------------------------------------------------------------------------------------
cdef struct RhsLines:
    # optional: right-hand side r is nonzero on grid line line[r] only (ascending); NULL: anywhere
    const int64_t* line
    bint along_columns   # the lines are grid columns (else grid rows)


cdef struct LevelData:
    # one tree level: geometry, offsets into its factor arrays and into the update stacks
    Level geo
    const int64_t* panel_off
    const int64_t* chain_off
    const int64_t* update_off     # packed update matrices (factorisation)
    const int64_t* boundary_off   # boundary rows (update vectors of the forward substitution)
    double* panels
    double* chain_d
    double* chain_l
    const unsigned char* active   # per node: 0 = skip its subtree in a pruned sweep (NULL: all active)


cdef inline void set_positions(int* pos, const int64_t* gidx, int64_t f, bint on) noexcept nogil:
    cdef int64_t i
    for i in range(f):
        pos[gidx[i]] = <int>i if on else -1


cdef int factor_node(const Grid* g, const LevelData* lev, const LevelData* child, int64_t k, Work* w,
                     double* upd_out, const double* child_upd0, const double* child_upd1,
                     int64_t max_front) noexcept nogil:
    """Assemble, factor and store the front of node k; write its update matrix to ``upd_out``.

    Returns 0, or > 0 if the front is not positive definite (or the tree is inconsistent).
    """
    cdef Node nd = node_at(&lev.geo, k), cn
    cdef Chain ch
    cdef int64_t f, p, fc, pc, i, j, c, bnd
    cdef int status = 0
    cdef double* F = w.F
    cdef double* d = lev.chain_d + lev.chain_off[k]
    cdef double* ell = lev.chain_l + lev.chain_off[k]
    cdef const double* child_upd
    f = front_nodes(g, &nd, w.gidx, &p)
    set_positions(w.pos, w.gidx, f, True)
    for j in range(f):
        memset(F + j * f + j, 0, (f - j) * sizeof(double))
    if nd.kind == LEAF:
        assemble_leaf(g, &nd, F, f, p)
    else:
        for i in range(p):
            F[i + i * f] = g.du[w.gidx[i]] if nd.kind == VERTICAL else g.db[w.gidx[i] - g.MN]
        bind_chain(&ch, w, max_front)
        chain_of(g, &nd, &ch)
        if tri_factor(&ch, d, ell) != 0:
            status = 1
        else:
            tri_inverse_lower(ch.n, d, ell, w.Z)
            add_chain(F, f, &ch, w.Z, w.pos)
            for c in range(2):
                cn = node_at(&child.geo, 2 * k + c)
                fc = front_nodes(g, &cn, w.cgidx, &pc)
                if to_positions(w.cgidx + pc, fc - pc, w.pos) != 0:
                    status = 2
                    break
                child_upd = child_upd0 if c == 0 else child_upd1
                extend_add(F, f, child_upd, fc - pc, w.cgidx + pc)
    set_positions(w.pos, w.gidx, f, False)
    if status != 0:
        return status
    if partial_cholesky(F, <int>f, <int>p) != 0:
        return 3
    memcpy(lev.panels + lev.panel_off[k], F, f * p * sizeof(double))
    bnd = f - p
    for j in range(bnd):
        memcpy(upd_out + packed_start(j, bnd), F + (p + j) + (p + j) * f, (bnd - j) * sizeof(double))
    return 0


cdef inline int64_t yrow(const Grid* g, int64_t unknown) noexcept nogil:
    """Row of Y holding an unknown."""
    return g.ymap[unknown] if g.ymap != NULL else unknown


cdef inline void gather(const Grid* g, const double* Y, const int64_t* gidx, int64_t n, double* W,
                        int64_t nrhs) noexcept nogil:
    cdef int64_t i
    if nrhs == 1:
        for i in range(n):
            W[i] = Y[yrow(g, gidx[i])]
        return
    for i in range(n):
        memcpy(W + i * nrhs, Y + yrow(g, gidx[i]) * nrhs, nrhs * sizeof(double))


cdef inline void scatter(const Grid* g, double* Y, const int64_t* gidx, int64_t n, const double* W,
                         int64_t nrhs) noexcept nogil:
    cdef int64_t i
    if nrhs == 1:
        for i in range(n):
            Y[yrow(g, gidx[i])] = W[i]
        return
    for i in range(n):
        memcpy(Y + yrow(g, gidx[i]) * nrhs, W + i * nrhs, nrhs * sizeof(double))


cdef inline void axpy_row(double* Y, int64_t row, double a, const double* x, int64_t nrhs) noexcept nogil:
    cdef int64_t r
    cdef double* y = Y + row * nrhs
    for r in range(nrhs):
        y[r] += a * x[r]


cdef inline int64_t lower_bound(const int64_t* a, int64_t n, int64_t x) noexcept nogil:
    """First index i of the ascending array a (n entries) with a[i] >= x (n if none)."""
    cdef int64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int forward_node(const Grid* g, const LevelData* lev, const LevelData* child, int64_t k, Work* w,
                      double* vec_out, const double* child_vec0, const double* child_vec1, double* Y,
                      int64_t nrhs, int64_t max_front, const RhsLines* lines) noexcept nogil:
    """Forward substitution at node k: eliminate its chain and pivots from the right-hand sides.

    Chain rows of Y get T^-1 f_chain, pivot rows L11^-1 (...); the boundary rows go to ``vec_out``
    (boundary x nrhs) for the parent. With ``lines.line`` set, right-hand side r is zero outside grid
    line ``lines.line[r]``, so the dense elimination runs on the columns whose line crosses the
    rectangle only (the others stay exactly zero). Returns 0, or 2 if the tree is inconsistent.
    """
    cdef Node nd = node_at(&lev.geo, k), cn
    cdef Chain ch
    cdef int64_t f, p, fc, pc, i, c, r_lo = 0, r_hi = nrhs
    cdef double* W = w.F
    cdef double* T = w.Z
    cdef const double* U
    f = front_nodes(g, &nd, w.gidx, &p)
    memset(W, 0, f * nrhs * sizeof(double))
    gather(g, Y, w.gidx, p, W, nrhs)
    if nd.kind != LEAF:
        set_positions(w.pos, w.gidx, f, True)
        bind_chain(&ch, w, max_front)
        chain_of(g, &nd, &ch)
        gather(g, Y, ch.gidx, ch.n, T, nrhs)
        tri_solve(ch.n, lev.chain_d + lev.chain_off[k], lev.chain_l + lev.chain_off[k], T, nrhs)
        scatter(g, Y, ch.gidx, ch.n, T, nrhs)
        for i in range(ch.n):
            axpy_row(W, i, ch.cell[i], T + i * nrhs, nrhs)
        if ch.end0 >= 0:
            axpy_row(W, w.pos[ch.end0], ch.g_end0, T, nrhs)
        if ch.end1 >= 0:
            axpy_row(W, w.pos[ch.end1], ch.g_end1, T + (ch.n - 1) * nrhs, nrhs)
        for c in range(2):
            cn = node_at(&child.geo, 2 * k + c)
            fc = front_nodes(g, &cn, w.cgidx, &pc)
            if to_positions(w.cgidx + pc, fc - pc, w.pos) != 0:
                set_positions(w.pos, w.gidx, f, False)
                return 2
            U = child_vec0 if c == 0 else child_vec1
            for i in range(fc - pc):
                axpy_row(W, w.cgidx[pc + i], 1.0, U + i * nrhs, nrhs)
        set_positions(w.pos, w.gidx, f, False)
    if lines.line != NULL:
        r_lo = lower_bound(lines.line, nrhs, nd.c0 if lines.along_columns else nd.r0)
        r_hi = lower_bound(lines.line, nrhs, nd.c1 if lines.along_columns else nd.r1)
    forward_front(lev.panels + lev.panel_off[k], <int>f, <int>p, W + r_lo, <int>(r_hi - r_lo), <int>nrhs)
    scatter(g, Y, w.gidx, p, W, nrhs)
    memcpy(vec_out, W + p * nrhs, (f - p) * nrhs * sizeof(double))
    return 0


cdef void backward_node(const Grid* g, const LevelData* lev, int64_t k, Work* w, double* Y, int64_t nrhs,
                        int64_t max_front) noexcept nogil:
    """Backward substitution at node k: its pivots from the (final) boundary values, then its chain."""
    cdef Node nd = node_at(&lev.geo, k)
    cdef Chain ch
    cdef int64_t f, p, i, r
    cdef double* W = w.F
    cdef double* T = w.Z
    f = front_nodes(g, &nd, w.gidx, &p)
    gather(g, Y, w.gidx, f, W, nrhs)
    backward_front(lev.panels + lev.panel_off[k], <int>f, <int>p, W, <int>nrhs)
    scatter(g, Y, w.gidx, p, W, nrhs)
    if nd.kind == LEAF:
        return
    bind_chain(&ch, w, max_front)
    chain_of(g, &nd, &ch)
    for i in range(ch.n):
        for r in range(nrhs):
            T[i * nrhs + r] = ch.cell[i] * W[i * nrhs + r]
    if ch.end0 >= 0:
        axpy_row(T, 0, ch.g_end0, Y + yrow(g, ch.end0) * nrhs, nrhs)
    if ch.end1 >= 0:
        axpy_row(T, ch.n - 1, ch.g_end1, Y + yrow(g, ch.end1) * nrhs, nrhs)
    tri_solve(ch.n, lev.chain_d + lev.chain_off[k], lev.chain_l + lev.chain_off[k], T, nrhs)
    for i in range(ch.n):
        axpy_row(Y, yrow(g, ch.gidx[i]), 1.0, T + i * nrhs, nrhs)


# ---- the whole tree ------------------------------------------------------------------------------
# Levels from ``split`` down are cut into ``n_sub`` independent subtrees (one per node of level
# ``split``), processed in parallel, each in postorder with its own stack of update matrices (the
# children's updates are still in cache when their parent is assembled, and the stack stays small);
# the subtree's root leaves its update at the bottom of its stack. The few levels above ``split``
# run on one thread, level by level, with two ``top`` buffers.
cdef struct Tree:
    int n_levels
    int split
    int64_t n_sub
    LevelData* lev
    double* top           # 2 x top_size
    double* sub           # n_sub x sub_size
    int64_t top_size, sub_size
    bint vectors          # sizes from boundary rows x nrhs (solve) instead of packed updates (factor)
    int64_t nrhs
    RhsLines lines        # forward substitution: where each right-hand side lives (line NULL: anywhere)


cdef inline bint is_active(const LevelData* lev, int64_t k) noexcept nogil:
    return lev.active == NULL or lev.active[k] != 0


cdef inline int64_t update_size(const Tree* tr, int d, int64_t k) noexcept nogil:
    """Doubles in the update matrix (factor) or update vector (solve) of node k of level d."""
    if tr.vectors:
        return (tr.lev[d].boundary_off[k + 1] - tr.lev[d].boundary_off[k]) * tr.nrhs
    return tr.lev[d].update_off[k + 1] - tr.lev[d].update_off[k]


cdef double* top_update(const Tree* tr, int d, int64_t k) noexcept nogil:
    """Where node k of a level d <= split keeps its update (level split: the bottom of its subtree stack)."""
    if d >= tr.split:
        return tr.sub + k * tr.sub_size
    if tr.vectors:
        return tr.top + (d % 2) * tr.top_size + tr.lev[d].boundary_off[k] * tr.nrhs
    return tr.top + (d % 2) * tr.top_size + tr.lev[d].update_off[k]


cdef int factor_subtree(const Grid* g, const Tree* tr, int d, int64_t k, double* stack, Work* w,
                        int64_t max_front) noexcept nogil:
    """Factor node k of level d and its descendants in postorder; its update ends at ``stack``."""
    cdef double* second = NULL
    cdef const LevelData* child = NULL
    if tr.lev[d].geo.kind != LEAF:
        child = &tr.lev[d + 1]
        second = stack + update_size(tr, d + 1, 2 * k)
        if factor_subtree(g, tr, d + 1, 2 * k, stack, w, max_front) != 0:
            return 1
        if factor_subtree(g, tr, d + 1, 2 * k + 1, second, w, max_front) != 0:
            return 1
    if factor_node(g, &tr.lev[d], child, k, w, stack, stack, second, max_front) != 0:
        w.failed, w.failed_level = k, d
        return 1
    return 0


cdef int forward_subtree(const Grid* g, const Tree* tr, int d, int64_t k, double* stack, Work* w,
                         double* Y, int64_t max_front) noexcept nogil:
    """Forward substitution at node k of level d and its descendants in postorder."""
    cdef double* second = NULL
    cdef const LevelData* child = NULL
    if not is_active(&tr.lev[d], k):      # no right-hand side inside: zero pivots, zero update
        memset(stack, 0, update_size(tr, d, k) * sizeof(double))
        return 0
    if tr.lev[d].geo.kind != LEAF:
        child = &tr.lev[d + 1]
        second = stack + update_size(tr, d + 1, 2 * k)
        if forward_subtree(g, tr, d + 1, 2 * k, stack, w, Y, max_front) != 0:
            return 1
        if forward_subtree(g, tr, d + 1, 2 * k + 1, second, w, Y, max_front) != 0:
            return 1
    if forward_node(g, &tr.lev[d], child, k, w, stack, stack, second, Y, tr.nrhs, max_front, &tr.lines) != 0:
        w.failed, w.failed_level = k, d
        return 1
    return 0


cdef int factor_top(const Grid* g, const Tree* tr, Work* w, int64_t max_front) noexcept nogil:
    """Factor the levels above ``split``, deepest first."""
    cdef int d
    cdef int64_t k
    for d in range(tr.split - 1, -1, -1):
        for k in range(tr.lev[d].geo.n):
            if factor_node(g, &tr.lev[d], &tr.lev[d + 1], k, w, top_update(tr, d, k),
                           top_update(tr, d + 1, 2 * k), top_update(tr, d + 1, 2 * k + 1), max_front) != 0:
                w.failed, w.failed_level = k, d
                return 1
    return 0


cdef int forward_top(const Grid* g, const Tree* tr, Work* w, double* Y, int64_t max_front) noexcept nogil:
    """Forward substitution on the levels above ``split``, deepest first."""
    cdef int d
    cdef int64_t k
    for d in range(tr.split - 1, -1, -1):
        for k in range(tr.lev[d].geo.n):
            if not is_active(&tr.lev[d], k):
                memset(top_update(tr, d, k), 0, update_size(tr, d, k) * sizeof(double))
                continue
            if forward_node(g, &tr.lev[d], &tr.lev[d + 1], k, w, top_update(tr, d, k),
                            top_update(tr, d + 1, 2 * k), top_update(tr, d + 1, 2 * k + 1), Y, tr.nrhs,
                            max_front, &tr.lines) != 0:
                w.failed, w.failed_level = k, d
                return 1
    return 0


cdef Tree make_tree(list levels, int split, double[::1] top, double[::1] sub, int64_t top_size,
                    int64_t sub_size, bint vectors, int64_t nrhs, object active=None) except *:
    """C view of the Python level tuples (the arrays stay owned, and alive, in ``levels``)."""
    cdef Tree tr
    cdef int d
    cdef const int64_t[::1] r0, r1, c0, c1, line, panel_off, chain_off, update_off, boundary_off
    cdef double[::1] panels, chain_d, chain_l
    cdef const unsigned char[::1] flags
    tr.n_levels = len(levels)
    if active is not None and len(active) != tr.n_levels:
        raise ValueError("active needs one flag array per level")
    tr.split = split
    tr.lev = <LevelData*>malloc(tr.n_levels * sizeof(LevelData))
    if tr.lev == NULL:
        raise MemoryError("nested dissection: no memory for the level table")
    for d in range(tr.n_levels):
        (kind, r0, r1, c0, c1, line, panel_off, chain_off, update_off, boundary_off,
         panels, chain_d, chain_l) = levels[d]
        tr.lev[d].geo = make_level(kind, r0, r1, c0, c1, line)
        tr.lev[d].panel_off, tr.lev[d].chain_off = &panel_off[0], &chain_off[0]
        tr.lev[d].update_off, tr.lev[d].boundary_off = &update_off[0], &boundary_off[0]
        tr.lev[d].panels, tr.lev[d].chain_d, tr.lev[d].chain_l = &panels[0], &chain_d[0], &chain_l[0]
        tr.lev[d].active = NULL
        if active is not None:
            flags = active[d]
            if flags.shape[0] != tr.lev[d].geo.n:
                free(tr.lev)
                raise ValueError("active flags must have one entry per node of their level")
            tr.lev[d].active = &flags[0]
    tr.n_sub = tr.lev[split].geo.n
    if top.shape[0] < 2 * top_size or sub.shape[0] < tr.n_sub * sub_size:
        free(tr.lev)
        raise ValueError("update buffers too small for the tree")
    tr.top, tr.sub = &top[0], &sub[0]
    tr.top_size, tr.sub_size = top_size, sub_size
    tr.vectors, tr.nrhs = vectors, nrhs
    tr.lines.line = NULL
    tr.lines.along_columns = False
    return tr


def factor_tree(list levels, const double[:, ::1] du, const double[:, ::1] db, const double[:, ::1] cw,
                const double[:, ::1] cb, const double[:, ::1] cc, int split,
                double[::1] top, double[::1] sub, int64_t top_size, int64_t sub_size,
                int[:, ::1] pos, double[:, ::1] scratch, int64_t max_front, int64_t max_chain, int n_threads):
    """Factor every front, deepest level first; subtrees below level ``split`` in parallel.

    ``levels[d]`` = (cut code, r0, r1, c0, c1, line, panel_off, chain_off, update_off, boundary_off,
    panels, chain_d, chain_l); the last three are filled: each node's panel [L11; L21] (front x
    pivots, column-major) and its chain's LDL^T factors. ``top`` (2 x top_size) and ``sub``
    (n_sub stacks of sub_size) hold the update matrices on their way up. ``scratch`` has a row of
    ``max_front^2 + max_chain^2`` doubles per thread. Returns None, or (level, node) of a front that
    is not positive definite.
    """
    cdef Grid g = make_grid(du, db, cw, cb, cc)
    if scratch.shape[1] < max_front * max_front + max_chain * max_chain:
        raise ValueError("scratch rows too short for the fronts")
    cdef Tree tr = make_tree(levels, split, top, sub, top_size, sub_size, False, 1)
    cdef Work* work = make_work(pos, scratch, max_front * max_front, max_front, n_threads, 2 * g.MN)
    cdef int64_t i
    cdef int t
    with nogil:
        for i in prange(tr.n_sub, schedule="dynamic", chunksize=1, num_threads=n_threads):
            t = threadid()
            factor_subtree(&g, &tr, split, i, tr.sub + i * tr.sub_size, work + t, max_front)
        if first_failure(work, n_threads) < 0:
            factor_top(&g, &tr, work, max_front)
    result = failure_of(work, n_threads)
    free_work(work, n_threads)
    free(tr.lev)
    return result


cdef const int64_t[::1] check_ymap(object ymap, Grid* g, int64_t y_rows) except *:
    """Validate the optional row map of Y and point the grid at it."""
    cdef const int64_t[::1] view
    if ymap is None:
        if y_rows != 2 * g.MN:
            raise ValueError("Y must have 2 M N rows")
        return None
    arr = np.ascontiguousarray(ymap, dtype=np.int64)
    if arr.shape != (2 * g.MN,) or (arr.size and (arr.min() < 0 or arr.max() >= y_rows)):
        raise ValueError("ymap must have 2 M N entries, each a row of Y")
    view = arr
    g.ymap = &view[0]
    return view


cdef const int64_t[::1] check_rhs_lines(object rhs_lines, int64_t nrhs) except *:
    """Validate the optional grid line of each right-hand side (None: no restriction)."""
    if rhs_lines is None or nrhs == 0:
        return None
    arr = np.ascontiguousarray(rhs_lines, dtype=np.int64)
    if arr.shape != (nrhs,) or np.any(np.diff(arr) < 0):
        raise ValueError(f"rhs_lines must be an ascending array of {nrhs} grid lines; got shape {arr.shape}")
    return arr


def forward_tree(list levels, const double[:, ::1] du, const double[:, ::1] db, const double[:, ::1] cw,
                 const double[:, ::1] cb, const double[:, ::1] cc, int split,
                 double[::1] top, double[::1] sub, int64_t top_size, int64_t sub_size,
                 double[:, ::1] Y, int[:, ::1] pos, double[:, ::1] scratch, int64_t max_front, int n_threads,
                 active=None, ymap=None, rhs_lines=None, bint lines_along_columns=False):
    """Forward substitution on ``Y`` (2 M N, nrhs), deepest level first (subtrees in parallel).

    ``active`` (optional): one uint8 array per level, 0 for a node whose rectangle holds no nonzero
    right-hand side; its subtree is skipped (its result is exactly zero). Flags must be closed upward.
    ``ymap`` (optional): (2 M N,) int64, the row of ``Y`` holding each unknown (then ``Y`` may be a
    compact array holding only the rows a pruned sweep touches); without it, row = unknown.

    ``rhs_lines`` (optional): (nrhs,) int64, ascending: right-hand side r is nonzero only on grid row
    ``rhs_lines[r]`` (grid column with ``lines_along_columns``); each front then eliminates only the
    right-hand sides whose line crosses its rectangle (the others are exactly zero there).

    ``top`` and ``sub`` as for factor_tree, sizes counted in boundary rows (times nrhs inside). ``scratch`` has a row of
    ``2 max_front nrhs`` doubles per thread.
    """
    cdef Grid g = make_grid(du, db, cw, cb, cc)
    cdef int64_t nrhs = Y.shape[1]
    cdef const int64_t[::1] ymap_view = check_ymap(ymap, &g, Y.shape[0])
    if scratch.shape[1] < 2 * max_front * nrhs:
        raise ValueError("scratch rows must hold 2 max_front nrhs doubles")
    cdef const int64_t[::1] lines_view = check_rhs_lines(rhs_lines, nrhs)
    cdef Tree tr = make_tree(levels, split, top, sub, top_size * nrhs, sub_size * nrhs, True, nrhs, active)
    if lines_view is not None:
        tr.lines.line = &lines_view[0]
        tr.lines.along_columns = lines_along_columns
    cdef Work* work = make_work(pos, scratch, max_front * nrhs, max_front, n_threads, 2 * g.MN)
    cdef double* Yp = &Y[0, 0]
    cdef int64_t i
    cdef int t
    with nogil:
        for i in prange(tr.n_sub, schedule="dynamic", chunksize=1, num_threads=n_threads):
            t = threadid()
            forward_subtree(&g, &tr, split, i, tr.sub + i * tr.sub_size, work + t, Yp, max_front)
        if first_failure(work, n_threads) < 0:
            forward_top(&g, &tr, work, Yp, max_front)
    result = failure_of(work, n_threads)
    free_work(work, n_threads)
    free(tr.lev)
    if result is not None:
        raise RuntimeError(f"nested dissection: inconsistent tree at level {result[0]}, node {result[1]}")


def backward_tree(list levels, const double[:, ::1] du, const double[:, ::1] db, const double[:, ::1] cw,
                  const double[:, ::1] cb, const double[:, ::1] cc, int split,
                  double[:, ::1] Y, int[:, ::1] pos, double[:, ::1] scratch, int64_t max_front, int n_threads,
                  active=None, ymap=None):
    """Backward substitution on ``Y`` (after forward_tree), root first (subtrees in parallel).

    ``active`` (optional): one uint8 array per level, 0 for a node whose unknowns are not needed; it is
    not back-substituted (its rows keep forward values). Flags must be closed upward (a node active
    implies its parent active). ``ymap`` as for forward_tree.
    """
    cdef Grid g = make_grid(du, db, cw, cb, cc)
    cdef int64_t nrhs = Y.shape[1]
    cdef const int64_t[::1] ymap_view = check_ymap(ymap, &g, Y.shape[0])
    if scratch.shape[1] < 2 * max_front * nrhs:
        raise ValueError("scratch rows must hold 2 max_front nrhs doubles")
    cdef double[::1] no_buffer = np.zeros(0)
    cdef Tree tr = make_tree(levels, split, no_buffer, no_buffer, 0, 0, True, nrhs, active)
    cdef Work* work = make_work(pos, scratch, max_front * nrhs, max_front, n_threads, 2 * g.MN)
    cdef double* Yp = &Y[0, 0]
    cdef int64_t i, k, count
    cdef int d, t
    with nogil:
        for d in range(split):
            for k in range(tr.lev[d].geo.n):
                if is_active(&tr.lev[d], k):
                    backward_node(&g, &tr.lev[d], k, work, Yp, nrhs, max_front)
        for i in prange(tr.n_sub, schedule="dynamic", chunksize=1, num_threads=n_threads):
            t = threadid()
            for d in range(split, tr.n_levels):      # node i's descendants at level d: count of them
                count = tr.lev[d].geo.n // tr.n_sub
                for k in range(i * count, (i + 1) * count):
                    if is_active(&tr.lev[d], k):
                        backward_node(&g, &tr.lev[d], k, work + t, Yp, nrhs, max_front)
    free_work(work, n_threads)
    free(tr.lev)
