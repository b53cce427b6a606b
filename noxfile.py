"""Developer sessions: ``nox -s codegen``, ``tests``, ``lint``, ``bench`` and ``docs``."""

import nox

nox.options.default_venv_backend = "venv"


@nox.session(python=False)
def codegen(session: nox.Session) -> None:
    """Regenerate provider modules and sync twins from manifests and async sources."""
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    session.run("ruff", "check", "src", "codegen", "tests", "bench", "examples")
    session.run("ruff", "format", "--check", "src", "codegen", "tests", "bench", "examples")
    session.run("mypy")
    session.run("python", "-m", "codegen", "--check")


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """Build the documentation site with ``mkdocs build --strict`` (``pip install -e .[docs]``).

    Any warning fails: a broken link, a page missing from the nav, a docstring mkdocstrings
    cannot read. The site goes to ``site/`` (ignored by git) unless a directory is given:
    ``nox -s docs -- /tmp/site``.
    """
    site = session.posargs[0] if session.posargs else "site"
    # the provider pages are generated: `nox -s codegen` writes them, `nox -s lint` checks them
    session.run("mkdocs", "build", "--strict", "--clean", "--site-dir", site)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    session.run("python", "bench/run.py", *session.posargs)
