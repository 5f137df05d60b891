"""academic may import affect.schema (and later warehouse), never flows or the rest of affect."""
import ast
from pathlib import Path

import academic


def test_academic_imports_respect_the_house_layering():
    offenders = []
    for path in Path(academic.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top == "flows" or (top == "affect" and module != "affect.schema"):
                    offenders.append(f"{path.name}: {module}")
    assert offenders == []
