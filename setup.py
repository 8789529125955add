"""The compiled part of the matcher (monitor/match/_scan.pyx); everything else is in
pyproject.toml. Cython and a C compiler are needed to install, as with any extension."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("monitor.match._scan", ["monitor/match/_scan.pyx"])],
        compiler_directives={"language_level": "3"},
    )
)
