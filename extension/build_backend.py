"""The package's PEP 517 build backend: setuptools, with the JupyterLab extension prebuilt.

A wheel (and an sdist) carries the built extension, installed as
`share/jupyter/labextensions/rho-agent/` (`[tool.setuptools.data-files]`), so installing the
wheel needs no Node.js. Building it needs Node.js and the `jupyterlab` package: the latter is
asked for (`get_requires_for_build_*`) only when the prebuilt output is missing or older than
its sources; an sdist holds an up-to-date output, so a wheel built from it needs neither.
Editable installs (`./scripts/install`) skip the extension; `./scripts/test` builds it and
links it into `.venv` (`build_labextension.py --develop`).
"""

from __future__ import annotations

from typing import Any

import build_labextension
from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (every hook not redefined here)

#: What building the extension needs from PyPI (jlpm and `jupyter labextension build`).
BUILD_REQUIRES = ["jupyterlab>=4.2,<5"]


def _extension_requires() -> list[str]:
    return BUILD_REQUIRES if build_labextension.is_stale() else []


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    return _setuptools.get_requires_for_build_wheel(config_settings) + _extension_requires()


def get_requires_for_build_sdist(config_settings: dict[str, Any] | None = None) -> list[str]:
    return _setuptools.get_requires_for_build_sdist(config_settings) + _extension_requires()


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    build_labextension.ensure_built()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    build_labextension.ensure_built()
    return _setuptools.build_sdist(sdist_directory, config_settings)
