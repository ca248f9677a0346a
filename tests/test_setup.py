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


def test_readme_headline_command_is_the_stored_recipe(repo):
    """README shows the 10-minute recipe by hand; it must stay the command that was measured."""
    from cvbook.train.headline import RECIPES

    text = (repo / "README.md").read_text().replace("\\\n  ", "")
    assert "cvbook train " + " ".join(RECIPES["10min"][1]) in text
