"""Build the documentation site into `_docs/`: every notebook executed, then rendered by smalldocs (no quarto).

    python tools/build_docs.py                     # execute all notebooks, render the site into _docs/
    python tools/build_docs.py --workers 2 --check # two notebooks at a time; then `smalldocs check` (exit 1 on findings)
    python tools/build_docs.py --no-exec           # only what nbdev runs for the docs (imports, exports, show_doc)
    python tools/build_docs.py --exec 00_mfa.ipynb,experiments/table1.ipynb --others none   # run only these
    python tools/build_docs.py --api               # after a build: the public names without an API entry
    python -m http.server 4200 --bind 127.0.0.1 --directory _docs   # preview the built site

What it does, as `nbdev_docs` does but with smalldocs in place of quarto:

1. Copies `nbs/` (images, `_quarto.yml`, `sidebar.yml`, `styles.css`) into `_proc/` and writes `_proc/nbdev.yml`
   from settings.ini; nothing in `nbs/` is written.
2. Runs nbdev's notebook processors on each notebook (show_doc cells for exported names, `#| hide`, `#| export`,
   links), with nbdev's `exec_show_docs` replaced by `ExecAll`: every code cell runs in order, in the notebook's
   own folder, as `nbdev_test` runs it, except cells flagged with settings.ini's `tst_flags` (`notest`, `slow`) or
   `#| eval: false`. A skipped cell shows a note instead of outputs; the notebooks show the recorded results of the
   slow runs (figures in nbs/images/, tables from bench/results/) from cells that do run. The executed copies go
   to `_proc/`, never back into `nbs/`. Each notebook runs in a fresh process; a cell that raises, or runs longer
   than `--timeout` seconds, stops the build with the notebook and the cell's traceback.
3. Names each page as nbdev does (`00_mfa.ipynb` -> `mfa.html`, the names in `cpmm/_modidx.py`), and makes
   nbdev's links to this site (`doc_host` + `doc_baseurl`) relative, so the built site is whole offline.
4. Renders `_proc/` with smalldocs into `_docs/` and writes `_docs/build.json` (pages, seconds per notebook).
"""
import argparse, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_NOTE = "*Not run for the docs: this cell is marked `#| {flag}` (the full-size run); the results below are the recorded ones.*"


def _exec_all(skip_flags: set, timeout: int, src: Path):
    "A processor in place of nbdev's `exec_show_docs`: run every code cell except those flagged with `skip_flags`."
    from execnb.shell import CaptureShell
    from nbdev.process import Processor
    folder = src.resolve().parent

    class ExecAll(Processor):
        "Execute every code cell in order, in the notebook's folder, skipping cells flagged as `nbdev_test` does."
        def begin(self):
            self.k = CaptureShell(timeout=timeout)
            os.chdir(folder)
            self.k.run_cell(f"import sys; sys.path.insert(0, {str(folder)!r}); from nbdev.showdoc import show_doc")

        def __call__(self, cell):
            if cell.cell_type != 'code' or not cell.source or 'nbdev_export' + '(' in cell.source: return
            d = getattr(cell, 'directives_', {}) or {}
            if d.get('eval:', [''])[0].lower() == 'false': return
            flags = skip_flags & d.keys()
            if flags:
                cell.outputs = [dict(output_type='display_data', metadata={},
                                     data={'text/markdown': [SKIP_NOTE.format(flag=sorted(flags)[0])]})]
                return
            self.k.cell(cell)
            if self.k.exc:
                raise RuntimeError(f"{self.k.prettytb(fname=src)}--- the cell ---\n{cell.source}")
    return ExecAll


DASH_HEADING = re.compile(r'^(#+) .* -\s*$')


def _dash_sections():
    """Two steps: `mark` flags each `## Tests -` section (a heading ending in ` -`, to the next heading of its level
    or above) before nbdev's processors run; `drop` removes the flagged cells after execution. nbdev alone drops only
    a cell that is nothing but such a heading; STYLE.md's `## Tests -` sections are dropped from the docs whole."""
    def level(cell):
        m = DASH_HEADING.match(cell.source.split('\n', 1)[0]) if cell.cell_type == 'markdown' and cell.source else None
        h = re.match(r'^(#+) ', cell.source) if cell.cell_type == 'markdown' and cell.source else None
        return (len(m.group(1)) if m else None), (len(h.group(1)) if h else None)

    def mark(nb):
        cut = None
        for cell in nb.cells:
            dash, head = level(cell)
            if head is not None and cut is not None and head <= cut: cut = None
            if dash is not None: cut = dash
            if cut is not None: cell.dash_section_ = True

    def drop(nb):
        nb.cells = [c for c in nb.cells if not getattr(c, 'dash_section_', False)]
    return mark, drop


def join_description(nb):
    "Join a `> description` written over several lines in the title cell: nbdev reads only its first line."
    for cell in nb.cells:
        if cell.cell_type != 'markdown': continue
        if re.search(r'^#\s+\S', cell.source, re.M):
            while True:
                joined = re.sub(r'^(>\s*\S[^\n]*?)\s*\n>[ \t]*(?=\S)', r'\1 ', cell.source, count=1, flags=re.M)
                if joined == cell.source: break
                cell.source = joined
        return


def proc_one(src: Path, dst: Path, mode: str, timeout: int):
    "Process one notebook with nbdev's docs processors and write it to `dst`; `mode` is 'all', 'docs' or 'none'."
    from execnb.nbio import read_nb, write_nb
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults, exec_show_docs

    cfg = get_config()
    os.environ['IN_TEST'] = '1'   # as nbdev_test and nbdev's docs build run notebooks
    procs = FilterDefaults().procs()
    if mode == 'all':      # every cell but the flagged ones
        ExecAll = _exec_all(set(cfg.get('tst_flags', '').split()), timeout, src)
        procs = [ExecAll if p is exec_show_docs else p for p in procs]
    elif mode == 'none':   # nothing runs: pages without outputs or API entries (quick, for tests)
        procs = [p for p in procs if p is not exec_show_docs]
    nb = read_nb(src)
    from nbdev.process import NBProcessor
    mark, drop = _dash_sections()
    mark(nb)
    join_description(nb)
    NBProcessor(nb=nb, procs=procs).process()
    drop(nb)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)


NBDEV_YML = """project:
  output-dir: _site

website:
  title: "{title}"
  site-url: "{doc_host}{doc_baseurl}"
  description: "{description}"
  repo-branch: {branch}
  repo-url: "{git_url}"
"""


def notebooks(nbs: Path) -> list:
    "The notebooks nbdev documents: `*.ipynb` under nbs/, skipping files and folders starting with `_` or `.`."
    from nbdev.doclinks import nbglob
    return sorted(Path(p).relative_to(nbs) for p in nbglob(nbs, func=Path))


def copy_sources(nbs: Path, proc: Path):
    "Copy everything under nbs/ but the notebooks and build outputs into `proc`."
    skip = {'_proc', '_docs', '_site', '.ipynb_checkpoints'}
    for p in nbs.rglob('*'):
        rel = p.relative_to(nbs)
        if p.is_dir() or p.suffix == '.ipynb' or any(s in skip or s.startswith('.') for s in rel.parts): continue
        (proc / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, proc / rel)


def page_names(todo: list) -> dict:
    "Each notebook's page as nbdev names it (`00_mfa.ipynb` -> `mfa.html`), the names nbdev's doc links use."
    from nbdev.frontmatter import _nbpath2html
    names = {str(rel): str(_nbpath2html(rel)) for rel in todo}
    clash = {v for v in names.values() if list(names.values()).count(v) > 1}
    if clash: sys.exit(f"build_docs: two notebooks would make the same page: {', '.join(sorted(clash))}")
    return names


def rename_sidebar(proc: Path, names: dict):
    "Point `sidebar.yml`'s entries at the renamed notebooks."
    import yaml
    f = proc / 'sidebar.yml'
    if not f.exists(): return
    ren = {k: v.removesuffix('.html') + '.ipynb' for k, v in names.items()}
    walk = lambda o: ({k: walk(v) for k, v in o.items()} if isinstance(o, dict) else [walk(v) for v in o]
                      if isinstance(o, list) else ren.get(o, o) if isinstance(o, str) else o)
    f.write_text(yaml.safe_dump(walk(yaml.safe_load(f.read_text())), sort_keys=False))


def finish_nb(nb_file: Path, page: str, pages: set, base_url: str):
    "Drop nbdev's `output-file` (the file now has that name) and make nbdev's links to this site relative."
    import posixpath, re
    nb = json.loads(nb_file.read_text())
    c0 = nb['cells'][0] if nb['cells'] else {}
    if c0.get('cell_type') == 'raw':
        src = ''.join(c0['source'])
        c0['source'] = re.sub(rf"^output-file: {re.escape(posixpath.basename(page))}\n", '', src, flags=re.M)
    here = posixpath.dirname(page)
    def rel(m):
        target = m.group(1)
        return posixpath.relpath(target, here or '.') + (m.group(2) or '') if target in pages else m.group(0)
    text = re.sub(re.escape(base_url.rstrip('/') + '/') + r'([\w./-]+\.html)(#[\w.-]*)?',
                  rel, json.dumps(nb, indent=1, ensure_ascii=False))
    nb_file.write_text(text)


KATEX_CDN = re.compile(r'https://cdn\.jsdelivr\.net/npm/katex@[\d.]+/dist/')
KATEX_DIRS = (os.environ.get('CPMM_KATEX'), '/usr/share/javascript/katex')   # Debian: apt-get install libjs-katex


def vendor_katex(out: Path) -> str | None:
    "Serve KaTeX from the site instead of smalldocs' CDN, so that the maths renders offline; the source folder, or None."
    src = next((Path(d) for d in KATEX_DIRS if d and (Path(d) / 'katex.min.js').exists()), None)
    if src is None: return None
    dst = out / 'site_libs' / 'katex'
    (dst / 'contrib').mkdir(parents=True, exist_ok=True)
    (dst / 'fonts').mkdir(exist_ok=True)
    for f in ('katex.min.js', 'katex.min.css'): shutil.copy(src / f, dst / f)
    ar = src / 'contrib' / 'auto-render.min.js'
    shutil.copy(ar if ar.exists() else src / 'contrib' / 'auto-render.js', dst / 'contrib' / 'auto-render.min.js')
    for f in (src / 'fonts').glob('*.woff2'): shutil.copy(f, dst / 'fonts' / f.name)
    for page in out.rglob('*.html'):
        text = page.read_text(encoding='utf-8')
        new = KATEX_CDN.sub(Path(os.path.relpath(dst, page.parent)).as_posix() + '/', text)
        if new != text: page.write_text(new, encoding='utf-8')
    return str(src)


def build(execute='all', others: str = 'docs', timeout: int = 600, check: bool = False, out: Path | None = None,
          workers: int = 1, quiet: bool = False) -> dict:
    "Build the site. `execute`: 'all', 'none' or notebooks (relative to nbs/) to run in full; `others`: 'docs' or 'none' for the rest."
    from concurrent.futures import ThreadPoolExecutor
    os.chdir(ROOT)
    from nbdev.config import get_config
    cfg = get_config()
    out = Path(out).resolve() if out else cfg.doc_path
    # the processed notebooks: _proc/ for the site in _docs/, beside the site for any other --out (tests)
    nbs, proc = cfg.nbs_path, ROOT / '_proc' if out == cfg.doc_path else out.with_name(out.name + '-proc')
    t0 = time.perf_counter()
    shutil.rmtree(proc, ignore_errors=True)
    proc.mkdir(parents=True)
    copy_sources(nbs, proc)
    (proc / 'nbdev.yml').write_text(NBDEV_YML.format(**{k: cfg[k] for k in
                                    ['title', 'description', 'branch', 'git_url', 'doc_host', 'doc_baseurl']}))
    todo = notebooks(nbs)
    names = page_names(todo)
    rename_sidebar(proc, names)
    wanted = set(names) if execute == 'all' else set() if execute == 'none' else set(execute)
    unknown = wanted - set(names)
    if unknown: sys.exit(f"build_docs: no such notebook under {nbs}: {', '.join(sorted(unknown))}")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}
    seconds, failed = {}, []

    def one(rel):
        t, mode = time.perf_counter(), 'all' if str(rel) in wanted else others
        dst = proc / (names[str(rel)].removesuffix('.html') + '.ipynb')
        r = subprocess.run([sys.executable, __file__, '--one', str(nbs / rel), str(dst), '--timeout', str(timeout),
                            '--others', mode], env=env, cwd=ROOT, capture_output=True, text=True)
        seconds[str(rel)] = round(time.perf_counter() - t, 1)
        if r.returncode: failed.append((rel, r.stdout[-4000:] + r.stderr[-8000:]))
        else: finish_nb(dst, names[str(rel)], set(names.values()), cfg.doc_host + cfg.doc_baseurl)
        if not quiet:
            done = 'FAILED' if r.returncode else dict(all='executed', docs='processed', none='copied')[mode]
            print(f"{done} {rel} -> {names[str(rel)]} in {seconds[str(rel)]} s", flush=True)

    with ThreadPoolExecutor(workers) as pool: list(pool.map(one, todo))
    for rel, log in failed: sys.stderr.write(f"==== {rel}\n{log}\n")
    if failed: sys.exit(f"build_docs: {', '.join(str(r) for r, _ in failed)} failed (above); the site was not built")
    t_exec = time.perf_counter() - t0
    from smalldocs.site import build as sd_build
    site = sd_build(proc, quiet=True)
    for w in site.warnings: print(f"warning: {w}", file=sys.stderr)
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(site.out), str(out))
    katex = vendor_katex(out)
    if not katex: print("build_docs: KaTeX is not installed (apt-get install libjs-katex): the maths loads from a CDN", file=sys.stderr)
    res = dict(pages=len(site.pages), out=str(out), notebooks=len(todo), executed=len(wanted),
               exec_seconds=round(t_exec, 1), seconds=round(time.perf_counter() - t0, 1),
               per_notebook=seconds, warnings=site.warnings, katex=katex)
    (out / 'build.json').write_text(json.dumps(res, indent=1))
    print(f"build_docs: {res['pages']} pages in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}, "
          f"{res['executed']} of {res['notebooks']} notebooks executed, {res['seconds']} s")
    if check:
        from smalldocs.check import check as sd_check
        res['check'] = sd_check(proc)
    return res


def api_report(proc: Path = ROOT / '_proc', site: Path | None = None) -> dict:
    "Per module, the public names (nbdev's index, `cpmm/_modidx.py`) without a show_doc entry in the built docs."
    import importlib
    from nbdev.config import get_config
    site = Path(site or get_config().doc_path)
    lib = get_config().lib_name
    if not (site / 'build.json').exists(): sys.exit(f"build_docs --api: no site in {site}: build it first")
    idx = importlib.import_module(f'{lib}._modidx').d['syms']
    shown = {m.group(1) for f in proc.rglob('*.ipynb') for c in json.loads(f.read_text())['cells'] if c['cell_type'] == 'code'
             for m in re.finditer(r'^show_doc\(([\w.]+)', ''.join(c['source']), re.M)}
    out = {}
    for mod, syms in idx.items():
        public = {full[len(mod) + 1:]: url for full, (url, _) in syms.items()
                  if not any(p.startswith('_') for p in full[len(mod) + 1:].split('.'))}
        lacking = [q for q in public if q not in shown]
        no_anchor = [q for q, url in public.items() if q in shown and f'id="{url.partition("#")[2]}"'
                     not in (site / url.partition('#')[0]).read_text(encoding='utf-8')]
        consts = [n for n in getattr(importlib.import_module(mod), '__all__', []) if f'{mod}.{n}' not in syms]
        out[mod] = dict(public=len(public), lacking=lacking, no_anchor=no_anchor, constants=consts)
        print(f"{mod}: {len(public) - len(lacking)} of {len(public)} public names have an entry"
              + (f"; lacking: {', '.join(lacking)}" if lacking else '')
              + (f"; entry under another name (doc links miss it): {', '.join(no_anchor)}" if no_anchor else '')
              + (f"; constants in __all__ (nbdev adds no entry for those): {', '.join(consts)}" if consts else ''))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--no-exec', action='store_true', help="run only imports, exports and show_doc cells, as nbdev does")
    p.add_argument('--exec', default=None, help="comma-separated notebooks (relative to nbs/) to execute; the others as --no-exec")
    p.add_argument('--others', default='docs', choices=['docs', 'none', 'all'],
                   help="with --exec, the other notebooks: 'docs' as --no-exec, 'none' run nothing (no API entries)")
    p.add_argument('--timeout', type=int, default=600, help="seconds one cell may run (default 600)")
    p.add_argument('--workers', type=int, default=1, help="notebooks run at once, each in its own process (default 1)")
    p.add_argument('--check', action='store_true', help="then run `smalldocs check` on the processed project; exit 1 on findings")
    p.add_argument('--out', default=None, help="where the site goes (default settings.ini's doc_path, _docs/)")
    p.add_argument('--api', action='store_true', help="list the public names without an API entry in the built site (no build)")
    p.add_argument('--one', nargs=2, metavar=('SRC', 'DST'), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.api: return api_report(*((Path(a.out).resolve().with_name(Path(a.out).name + '-proc'), a.out) if a.out else ()))
    if a.one: return proc_one(Path(a.one[0]), Path(a.one[1]), a.others, a.timeout)
    execute = 'none' if a.no_exec else a.exec.split(',') if a.exec else 'all'
    res = build(execute, a.others, a.timeout, a.check, a.out, a.workers)
    sys.exit(1 if res.get('check') else 0)


if __name__ == '__main__': main()
