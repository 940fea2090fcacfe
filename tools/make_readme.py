"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, without quarto, which cannot be installed here).

    python tools/make_readme.py          # rewrite README.md
    python tools/make_readme.py --check  # exit 1 if README.md is out of step with nbs/index.ipynb

Markdown cells are copied as they are (image links `images/...`, relative to nbs/, become `nbs/images/...`); code cells become ```python blocks, except cells marked `#| hide`.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook, not this file. -->"


def render(nb_path: Path = ROOT / 'nbs' / 'index.ipynb') -> str:
    cells = json.loads(nb_path.read_text())['cells']
    parts = []
    for c in cells:
        src = ''.join(c['source']).strip('\n')
        if not src: continue
        if c['cell_type'] == 'markdown': parts.append(src.replace('](images/', '](nbs/images/'))
        elif c['cell_type'] == 'code':
            lines = src.split('\n')
            if any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in lines): continue
            code = '\n'.join(l for l in lines if not l.lstrip().startswith('#|')).strip('\n')
            if code: parts.append(f"```python\n{code}\n```")
    parts.insert(1, NOTE)
    return '\n\n'.join(parts) + '\n'


if __name__ == '__main__':
    text, readme = render(), ROOT / 'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != text: sys.exit("README.md is out of step with nbs/index.ipynb: run python tools/make_readme.py")
    else: readme.write_text(text)
