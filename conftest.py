"""pytest, from any directory of the repository: paths in pyproject's addopts
are relative to the repository's root, not to where pytest was started (e.g.
`cd chapters && pytest`)."""

from pathlib import Path


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute():
        config.option.nbval_sanitize_with = str(
            Path(config.rootpath) / sanitize
        )
