"""Sphinx configuration of the rho-agent documentation site (see docs/README.md).

Build it with `scripts/docs` (strict: any warning fails). The pages are the Markdown files
in this folder, read by MyST; `notebooks` is a link to the repository's `notebooks/`, whose
notebooks are rendered with their saved outputs and never executed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import rho_agent  # noqa: E402

project = "rho-agent"
author = "the rho-agent authors"
copyright = "the rho-agent authors"
release = version = rho_agent.__version__

extensions = [
    "myst_nb",  # MyST Markdown pages and notebooks (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "rho_docs",  # docs/_ext/rho_docs.py: the CLI reference and the profile pages, generated
]

root_doc = "index"
exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints"]

# MyST: `page.md#a-heading` links resolve like on GitHub; fenced ```{directive} blocks work.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# Notebooks: rendered with the outputs saved in them, never executed during the build.
nb_execution_mode = "off"
nb_merge_streams = True

# API reference from the docstrings. Docstrings write code as `name`: render it as code.
default_role = "code"
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_default_options = {"show-inheritance": False}
autodoc_inherit_docstrings = False

# Quotes stay as typed: the pages quote values ("off", 'readonly') that are typed as shown.
smartquotes = False

html_theme = "furo"
html_title = f"rho-agent {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
