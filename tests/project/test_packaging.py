"""aacn as a library: imports point only down, the core needs torch alone, and a built wheel behaves as the checkout."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from aacn import list_models

SRC = Path(__file__).resolve().parents[2] / "src" / "aacn"
REPO = SRC.parents[1]

# Floors of the package, lowest first (docs/design.md): a module may import its own part and lower floors only.
FLOORS = {
    "nn": 0,
    "utils": 0,
    "models": 1,
    "data": 1,
    "checkpoints": 2,
    "config": 2,
    "exchange": 3,
    "engine": 4,
    "report": 4,
    "bench": 4,
    "experiments": 5,
    "cli": 6,
    "__main__": 7,  # `python -m aacn`: the entry point above the command
}
# What a user imports to build networks and exchange them; the rest (data, settings, engine, reports, benchmarks,
# experiments, the command) runs experiments, and imports the library, never the reverse.
LIBRARY = {"nn", "utils", "models", "checkpoints", "exchange"}
# `import aacn` is the light core: its __init__ may reach these parts only.
ROOT_IMPORTS = {"nn", "models", "utils"}
# What the optional extras bring; the core must run with every one of them blocked.
OPTIONAL = ("lightning", "torchmetrics", "torchvision", "numpy", "PIL", "yaml", "sklearn", "safetensors", "rich")
OPTIONAL += ("tensorboard", "matplotlib", "scipy", "timm", "onnx", "onnxruntime", "onnxscript", "huggingface_hub")


def _part(module: str) -> str:
    """'aacn.engine.train' -> 'engine'; 'aacn' -> '' (the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imported(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every aacn import in the file, in functions too, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "aacn"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] == "aacn":
                found.append((node.lineno, target))
    return found


def upward_imports(src: Path) -> list[str]:
    """Every import of the package at ``src`` that points to a peer or a higher floor."""
    problems = []
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src.parent).with_suffix("")
        module = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        own = _part(module)
        for line, target in _imported(path, module):
            other = _part(target)
            if other == own:
                continue
            if own == "":
                allowed = other in ROOT_IMPORTS
            elif other == "":
                allowed = FLOORS[own] > max(FLOORS[p] for p in ROOT_IMPORTS)  # the root re-exports the core
            else:
                allowed = FLOORS[other] < FLOORS[own]
            if not allowed:
                problems.append(f"{path.relative_to(src.parent)}:{line}: {module} imports {target}")
    return problems


def _module_of(path: Path, src: Path) -> str:
    relative = path.relative_to(src.parent).with_suffix("")
    return ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)


def import_cycles(src: Path) -> list[list[str]]:
    """Every loop in the graph of imports between the files of the package at ``src`` (lazy imports included):
    strongly connected components of more than one file. ``from .pkg import name`` is an edge to the file
    ``pkg/name.py`` where there is one, else to ``pkg/__init__.py``."""
    modules = {_module_of(path, src): path for path in src.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.split(".")[0] == "aacn"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                if target.split(".")[0] == "aacn":
                    targets |= {f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names}
        graph[module] = {t for t in targets if t in modules and t != module}
    # Tarjan's strongly connected components, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_loop_between_files() -> None:
    assert import_cycles(SRC) == []


def test_the_loop_check_catches_a_lazy_loop_inside_one_part(tmp_path: Path) -> None:
    package = tmp_path / "aacn"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "__init__.py").write_text("from . import registry\n")
    (package / "models" / "registry.py").write_text("from .resnet import ResNet\n")
    (package / "models" / "resnet.py").write_text("def save():\n    from .hub import save_pretrained\n")
    (package / "models" / "hub.py").write_text("from aacn.models.registry import create_model\n")
    (package / "models" / "paper.py").write_text("from . import registry\n")  # into the loop, not part of it
    assert import_cycles(package) == [["aacn.models.hub", "aacn.models.registry", "aacn.models.resnet"]]


def test_every_part_of_the_package_has_a_floor() -> None:
    parts = {
        p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()
    }
    assert parts - {"__init__"} == set(FLOORS)


def test_imports_point_only_down() -> None:
    assert upward_imports(SRC) == []


def test_the_library_imports_nothing_of_the_application() -> None:
    crossing = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_of(path, SRC)
        if _part(module) not in LIBRARY:
            continue
        for line, target in _imported(path, module):
            if _part(target) not in LIBRARY | {""}:
                crossing.append(f"{path.relative_to(SRC.parent)}:{line}: {module} imports {target}")
    assert crossing == []


def test_the_import_check_catches_an_upward_and_a_sideways_import(tmp_path: Path) -> None:
    package = tmp_path / "aacn"
    for part in ("nn", "engine", "report"):
        (package / part).mkdir(parents=True)
        (package / part / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from .nn import x\n")
    (package / "nn" / "layer.py").write_text("def f():\n    from ..engine import train\n")  # lazy, still upward
    (package / "report" / "figure.py").write_text("from aacn.engine.module import M\n")  # a peer
    (package / "engine" / "train.py").write_text("from ..nn import layer\nfrom . import module\n")  # fine
    assert upward_imports(package) == [
        "aacn/nn/layer.py:2: aacn.nn.layer imports aacn.engine",
        "aacn/report/figure.py:1: aacn.report.figure imports aacn.engine.module",
    ]


LIGHT_CORE = """
import sys
for name in {optional!r}:
    sys.modules[name] = None  # `import name` now fails, and find_spec(name) says it is not installed
import torch
import aacn
layer = aacn.AugmentedConv2d(8, 16, 3, dk=8, dv=4, num_heads=2, max_size=6)
x = torch.randn(2, 8, 6, 5, requires_grad=True)
layer(x).sum().backward()
model = aacn.create_model("aa_resnet18_cifar", num_classes=3)
model(torch.randn(2, 3, 32, 32)).sum().backward()
counted = aacn.profile(model, 32)
from aacn.cli import main
code = main(["models", "--filter", "resnet18_cifar", "--json"])
print("RESULT", len(aacn.list_models()), counted.params, code, x.grad.abs().sum().item() > 0)
"""


@pytest.mark.process
def test_core_runs_with_every_optional_package_blocked(tmp_path: Path) -> None:
    script = LIGHT_CORE.format(optional=OPTIONAL)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    result = next(line for line in done.stdout.splitlines() if line.startswith("RESULT")).split()
    # every model is still there without the extras (the count this process, with them installed, sees)
    assert result[1:] == [str(len(list_models())), "10615507", "0", "True"], result


@pytest.mark.process
@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["train", "--dataset", "digits", "--output", "out"], "train"),
        (["eval", "--checkpoint", "x.ckpt", "--dataset", "digits"], "train"),
        (["compare", "--dataset", "digits", "--output", "out"], "train"),
        (["models", "--filter", "resnet18_cifar", "--plot", "m.png"], "report"),
    ],
)
def test_a_missing_extra_is_one_line_naming_the_install(tmp_path: Path, argv: list[str], extra: str) -> None:
    blocked = ("lightning", "matplotlib")
    script = (
        f"import sys\nfor n in {blocked!r}: sys.modules[n] = None\nfrom aacn.cli import main\nsys.exit(main({argv!r}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"pip install 'aacn[{extra}]'" in done.stderr


# ---------------------------------------------------------------- the wheel


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the built wheel; the dependencies come from this one's site-packages
    through a plain path entry (its .pth files, the editable install's among them, are not processed)."""
    root = tmp_path_factory.mktemp("wheel")
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(root), str(REPO)],
        root,
    )
    (wheel,) = root.glob("aacn-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        root,
    )
    return venv


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


@pytest.mark.process
@pytest.mark.slow
def test_the_wheel_imports_from_its_own_install_not_the_checkout(wheel_env: Path, tmp_path: Path) -> None:
    code = "import aacn, sys; print(aacn.__file__); print(any('/src' in p and 'aacn' not in p for p in sys.path))"
    out = _run([str(wheel_env / "bin" / "python"), "-c", code], tmp_path, _clean_env()).split()
    assert out[0].startswith(str(wheel_env)), out
    assert not out[0].startswith(str(REPO)) and str(REPO / "src") not in out[1]


@pytest.mark.process
@pytest.mark.slow
def test_the_wheel_trains_with_the_same_resolved_config_as_the_checkout(wheel_env: Path, tmp_path: Path) -> None:
    flags = ["train", "--dataset", "digits", "--epochs", "1", "--limit-train-batches", "1"]
    flags += ["--limit-val-batches", "1", "--workers", "0", "--accelerator", "cpu", "--output", "run"]
    configs = []
    for name, command in (("wheel", [str(wheel_env / "bin" / "aacn")]), ("checkout", [sys.executable, "-m", "aacn"])):
        folder = tmp_path / name
        folder.mkdir()
        _run([*command, *flags], folder, _clean_env())
        configs.append(yaml.safe_load((folder / "run" / "config.yaml").read_text()))
    assert configs[0] == configs[1]
    assert configs[0]["recipe"] == "digits" and configs[0]["lr"] == 0.05, "the dataset's recipe applied"


@pytest.mark.process
@pytest.mark.slow
def test_the_wheel_benchmarks_against_the_appendix_baseline(wheel_env: Path, tmp_path: Path) -> None:
    """The wheel ships the bench harness and the appendix baseline: `aacn bench --layer`'s code at a small shape
    (the command itself at its full shape is tested from the checkout)."""
    code = (
        "import json, torch; from aacn.bench.harness import Harness; from aacn.bench.layer import bench_layer; "
        "rows = bench_layer(Harness(torch.device('cpu'), repeats=1), batch=2, channels=16, size=6, dk=8, dv=4, "
        "heads=2); "
        "print(json.dumps([[r.case, r.time_ratio, r.peak_mb] for r in rows]))"
    )
    rows = json.loads(_run([str(wheel_env / "bin" / "python"), "-c", code], tmp_path, _clean_env()))
    baseline = [r for r in rows if r[0] == "appendix baseline"]
    assert len(baseline) == 1 and baseline[0][1] == 1.0 and baseline[0][2] is not None
    assert {r[0] for r in rows} >= {"aacn eager", "aacn chunked", "aacn sdpa"}


def test_every_extra_the_code_names_is_declared_and_in_all() -> None:
    import tomllib

    from aacn.utils.extras import EXTRAS

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(declared), sorted(set(EXTRAS) - set(declared))
    in_all = declared["all"][0].split("[")[1].rstrip("]").split(",")
    assert sorted(in_all) == sorted(EXTRAS)
