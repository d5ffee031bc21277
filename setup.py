"""Build the Cython kernels of `cython_ext/` into the `cosim._ext` package.

Every ``cython_ext/NAME.pyx`` becomes the extension module ``cosim._ext.NAME``; metadata lives in
pyproject.toml. A plain ``pip install .`` (or ``-e .``) from a source checkout compiles them.
"""
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent


def kernel_extensions() -> list[Extension]:
    """One extension per .pyx file in cython_ext/, compiled with optimisation and numpy headers."""
    return [
        Extension(
            f"cosim._ext.{pyx.stem}",
            [str(pyx.relative_to(HERE))],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=["-O3"],
        )
        for pyx in sorted((HERE / "cython_ext").glob("*.pyx"))
    ]


setup(
    ext_modules=cythonize(
        kernel_extensions(),
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ),
)
