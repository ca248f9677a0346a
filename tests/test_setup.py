"""The install files agree: environment.yml pins exactly what lib/pyproject.toml pins."""

import re
import tomllib


def test_environment_yml_has_the_same_pins_as_pyproject(repo):
    project = tomllib.loads((repo / "lib/pyproject.toml").read_text())["project"]
    pinned = set(project["dependencies"]) | set(project["optional-dependencies"]["course"])
    env_pins = set(re.findall(r"^\s+- ([A-Za-z0-9_.\-]+==[^\s]+)$", (repo / "environment.yml").read_text(), re.M))
    assert env_pins == pinned, f"only in environment.yml: {env_pins - pinned}; only in pyproject: {pinned - env_pins}"


def test_ci_runs_the_readme_test_command(repo):
    assert "make test" in (repo / ".ci/run").read_text()
    assert "make test" in (repo / "README.md").read_text()
