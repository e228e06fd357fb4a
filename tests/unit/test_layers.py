"""The dependency direction of the packages: a lower layer never imports a higher one.

Every import statement (module level or inside a function) of every module
under ``events``, ``infra``, ``projectors`` and ``services`` is read with
``ast`` and checked against the layers below, lowest first.  A module may
import its own package and any lower layer, never a sibling package of its
own layer nor a higher one; production code never imports the test kits.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("events", "infra", "projectors", "services")

#: Lowest first.  Each entry is one layer: the packages (module prefixes) in it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("events",),
    ("infra",),
    ("projectors.policy",),
    ("projectors.consent",),
    ("projectors.log", "projectors.runtime", "projectors.outbox"),
    ("projectors.keys",),
    ("projectors.readmodels",),
    ("projectors.directory",),
    ("projectors.audit",),
    ("projectors.sealer", "projectors.engine"),
    ("projectors.scheduler",),
    ("projectors.bootstrap",),
    ("projectors.replay", "projectors.testing"),
    ("projectors.app",),
    ("services",),
)
#: Only these may use the test kits (benchmarks and scenarios drive the engine rig).
TEST_KIT_USERS = ("projectors.testing", "services.bench", "services.scenarios")
TEST_KITS = ("projectors.testing", "tests")
#: Pure cores: they import the contract and nothing else of Haven.
PURE = {"projectors.policy": ("events",), "projectors.consent": ("events", "projectors.policy")}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def package_of(module: str) -> tuple[int, str] | None:
    """The layer index and package prefix that ``module`` belongs to."""
    best: tuple[int, str] | None = None
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if _under(module, prefix) and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    return best


def imports_of(source: str, module: str) -> Iterator[str]:
    """Every Haven module that ``source`` (the text of ``module``) imports."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                names = [".".join([*base, node.module or ""]).rstrip(".")]
            else:
                names = [node.module or ""]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in (*PACKAGES, "tests"))


def violations(module: str, source: str) -> list[str]:
    """What is wrong with the imports of one module."""
    found: list[str] = []
    home = package_of(module)
    for target in imports_of(source, module):
        if any(_under(target, kit) for kit in TEST_KITS) and not any(
            _under(module, user) for user in TEST_KIT_USERS
        ):
            found.append(f"{module} imports the test kit {target}")
            continue
        there = package_of(target)
        if home is None or there is None or there[1] == home[1]:
            continue
        allowed = PURE.get(home[1])
        if allowed is not None and not any(_under(target, ok) for ok in allowed):
            found.append(f"{module} (pure) imports {target}")
        elif there[0] >= home[0]:
            side = "a sibling" if there[0] == home[0] else "a higher layer"
            found.append(f"{module} imports {side}: {target}")
    return found


def haven_modules() -> Iterator[tuple[str, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path.read_text(encoding="utf-8")


def test_every_module_belongs_to_a_layer() -> None:
    modules = [name for name, _ in haven_modules() if name not in PACKAGES]
    assert [name for name in modules if package_of(name) is None] == []


def test_no_module_imports_upwards_or_sideways() -> None:
    found = [problem for name, source in haven_modules() for problem in violations(name, source)]
    assert found == []


def test_an_upward_import_is_caught() -> None:
    assert violations("projectors.consent.ledger", "from projectors.engine.core import X\n") == [
        "projectors.consent.ledger (pure) imports projectors.engine.core"
    ]
    assert violations("projectors.engine.core", "import projectors.sealer.store\n") == [
        "projectors.engine.core imports a sibling: projectors.sealer.store"
    ]
    assert violations("events.codec", "def f():\n    from projectors.log import X\n") == [
        "events.codec imports a higher layer: projectors.log"
    ]
    assert violations("projectors.audit.ledger", "from projectors.engine import batch\n") == [
        "projectors.audit.ledger imports a higher layer: projectors.engine"
    ]


def test_production_code_never_imports_a_test_kit() -> None:
    assert violations("services.api.app", "from projectors.testing import kit\n") == [
        "services.api.app imports the test kit projectors.testing"
    ]
    assert violations("services.bench.audit_bench", "from projectors.testing import kit\n") == []
