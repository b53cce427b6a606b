"""Developer sessions: ``nox -s codegen``, ``nox -s tests``, ``nox -s lint``, ``nox -s bench``."""

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
    session.run("ruff", "check", "src", "codegen", "tests", "bench")
    session.run("ruff", "format", "--check", "src", "codegen", "tests", "bench")
    session.run("mypy")
    session.run("python", "-m", "codegen", "--check")


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    session.run("python", "bench/run.py", *session.posargs)
