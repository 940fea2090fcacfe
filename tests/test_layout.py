"The layout's rules that a reader can't see from one file: no private name crosses a module, one optimizer loop."
import ast, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ('cpmm', 'bench', 'tests', 'examples', 'tools')


def _files():
    return [p for d in TREES if (ROOT / d).exists() for p in sorted((ROOT / d).rglob('*.py')) if p.name != '_modidx.py']


def _private(name: str) -> bool: return name.startswith('_') and not name.startswith('__')


def _defined(tree) -> set:
    "Every name a file binds: functions, classes, variables, attributes it assigns, arguments and keywords."
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): names.add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store): names.add(n.attr)
        elif isinstance(n, ast.arg): names.add(n.arg)
        elif isinstance(n, ast.keyword) and n.arg: names.add(n.arg)
    return names


def private_uses(path: Path) -> list[str]:
    "The private names `path` takes from elsewhere: imported from another module, or read as an attribute it never defines."
    tree = ast.parse(path.read_text())
    mine, found = _defined(tree), []
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            found += [f"{n.lineno}: from {n.module} import {a.name}" for a in n.names if _private(a.name)]
        elif isinstance(n, ast.Attribute) and _private(n.attr) and n.attr not in mine:
            found.append(f"{n.lineno}: {ast.unparse(n)}")
    return found


# tools/build_docs.py renders the site with nbdev's own page-path helper, which nbdev does not make public
ALLOWED = {('tools/build_docs.py', 'from nbdev.frontmatter import _nbpath2html'),
           ('tests/test_train.py', 'os._exit')}   # the standard library's public exit without interpreter teardown (DDP workers)


def test_no_private_name_crosses_a_module():
    bad = [f"{p.relative_to(ROOT)}:{u}" for p in _files() for u in private_uses(p)
           if (str(p.relative_to(ROOT)), u.split(': ', 1)[1]) not in ALLOWED]
    assert not bad, "private names used outside the module that defines them:\n" + "\n".join(bad)


def test_the_checker_finds_a_private_use(tmp_path):
    f = tmp_path / 'x.py'
    f.write_text("from cpmm.mfa import _check_params\nimport cpmm.train as t\nt._lr_at\nself._mine = 1\nself._mine\n")
    assert private_uses(f) == ['1: from cpmm.mfa import _check_params', '3: t._lr_at']


def test_one_optimizer_loop():
    "Every optimizer in the package is the Trainer's, and so is every optimizer step."
    lines = [(p.name, line) for p in sorted((ROOT / 'cpmm').glob('*.py')) if p.name != '_modidx.py' for line in p.read_text().splitlines()]
    steps = [f for f, line in lines if re.search(r'\.step\(\)', line) and 'scheduler' not in line]
    optimizers = [f for f, line in lines if re.search(r'torch\.optim\.(?!lr_scheduler)\w+\(', line)]
    assert steps == ['train.py'] and optimizers == ['train.py'], (steps, optimizers)
