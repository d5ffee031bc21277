"""Compiled Cython kernels (built by setup.py from cython_ext/*.pyx)."""
