"""The docstring examples of every module run as tests, so that they stay true."""
import doctest
import importlib
import pkgutil

import pytest

import evals
import index
import qa
import ui

MODULES = sorted(f"{package.__name__}.{m.name}" for package in (index, qa, ui, evals)
                 for m in pkgutil.iter_modules(package.__path__) if m.name != "__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_examples_are_there():
    found = sum(len(t.examples) for n in MODULES for t in doctest.DocTestFinder().find(importlib.import_module(n)))
    assert found > 200  # a refactor that dropped them (or a finder that stopped finding them) shows here
