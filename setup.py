"""The compiled parts of the matcher (monitor/match/_scan.pyx, _rules.pyx) and of the
near-duplicate sketch (monitor/near/_sketch.pyx); the rest is in pyproject.toml. Cython
and a C compiler are needed to install, as with any extension."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension("monitor.match._scan", ["monitor/match/_scan.pyx"]),
            Extension("monitor.match._rules", ["monitor/match/_rules.pyx"]),
            Extension("monitor.near._sketch", ["monitor/near/_sketch.pyx"]),
        ],
        compiler_directives={"language_level": "3"},
    )
)
