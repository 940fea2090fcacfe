"""The documentation site, checked in headless Chromium over a localhost HTTP server.

Builds the site with tools/build_docs.py into a temporary folder, executing only the notebooks of the pages
checked here (the other pages are rendered without running them), unless a full build in `_docs/` is newer than
every notebook, module and the build script, or CPMM_DOCS_SITE names a built site. Screenshots go to
CPMM_DOCS_SCREENSHOTS if set (e.g. docs-screenshots/), else to a temporary folder.
"""
import base64, functools, http.server, json, os, re, shutil, subprocess, sys, threading, urllib.error, urllib.request
from html.parser import HTMLParser
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# page (nbdev's name) -> its notebook, and whether the quick build here executes it (10_model takes 3 min, index 45 s)
PAGES = {'index.html': ('index.ipynb', False), 'mfa.html': ('00_mfa.ipynb', True), 'model.html': ('10_model.ipynb', False),
         'experiments/trajectories.html': ('experiments/trajectories.ipynb', True)}
PICTURES = {'index.html', 'experiments/trajectories.html'}   # pages whose prose shows recorded figures
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|cell-output-error|While Executing Cell')
CHROMIUM = next((shutil.which(b) for b in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(b)), None)

try: import smalldocs  # noqa: F401
except ImportError: smalldocs = None
pytestmark = [pytest.mark.skipif(smalldocs is None, reason="smalldocs is not installed (pip install -e '.[dev]')"),
              pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")]


def _fresh(site: Path) -> bool:
    "Whether `site` is a full build (every notebook executed) newer than every source it was built from."
    info = site / 'build.json'
    if not info.exists(): return False
    b = json.loads(info.read_text())
    if b.get('executed') != b.get('notebooks'): return False
    srcs = [*(ROOT / 'nbs').rglob('*'), *(ROOT / 'cpmm').rglob('*.py'), ROOT / 'tools' / 'build_docs.py', ROOT / 'settings.ini']
    return info.stat().st_mtime > max(p.stat().st_mtime for p in srcs if p.is_file() and '_proc' not in p.parts)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    if os.environ.get('CPMM_DOCS_SITE'): return Path(os.environ['CPMM_DOCS_SITE'])
    if _fresh(ROOT / '_docs'): return ROOT / '_docs'
    out = tmp_path_factory.mktemp('docs') / 'site'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}
    run = ','.join(nb for nb, executed in PAGES.values() if executed)
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_docs.py'), '--exec', run,
                        '--others', 'none', '--out', str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    return out


@pytest.fixture(scope='module')
def server(site):
    handler = functools.partial(type('Quiet', (http.server.SimpleHTTPRequestHandler,), {'log_message': lambda *a: None}),
                                directory=str(site))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown(); httpd.server_close()


def chromium(*args, timeout=120) -> str:
    "Run headless Chromium with `args`; its stdout."
    with_profile = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars',
                    '--no-first-run', '--disable-extensions', '--virtual-time-budget=5000']
    r = subprocess.run([CHROMIUM, *with_profile, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


class Images(HTMLParser):
    "The `src` of every <img>."
    def __init__(self): super().__init__(); self.srcs = []
    def handle_starttag(self, tag, attrs):
        if tag == 'img': self.srcs.append(dict(attrs).get('src'))


def get(url: str) -> bytes:
    "The body of `url`, which must answer 200."
    try:
        with urllib.request.urlopen(url, timeout=30) as r: return r.read()
    except urllib.error.HTTPError as e: raise AssertionError(f"{url}: HTTP {e.code}") from None


IMAGE_MAGIC = (b'\x89PNG\r\n\x1a\n', b'\xff\xd8\xff', b'GIF8', b'<svg', b'<?xml')


@pytest.mark.parametrize('page', list(PAGES))
def test_page_in_chromium(page, site, server, tmp_path):
    "The page loads in Chromium, shows no traceback, and every picture it shows is there and non-empty."
    assert get(server + page)                                    # served over localhost HTTP
    dom = chromium('--dump-dom', server + page)                  # the DOM after Chromium ran the page's scripts
    if '<h1' not in dom: pytest.fail(f"{page}: no title in the DOM Chromium built: {dom[:300]}")
    tb = TRACEBACK.search(dom)
    if tb: pytest.fail(f"{page} shows a traceback: ...{dom[max(0, tb.start() - 300):tb.end() + 300]}...")
    p = Images(); p.feed(dom)
    assert p.srcs or page not in PICTURES, f"{page} shows no pictures"
    for src in p.srcs:
        assert src, f"{page}: an <img> without src"
        data = (base64.b64decode(src.split(',', 1)[1]) if src.startswith('data:')
                else get(urllib.request.urljoin(server + page, src)))
        assert len(data) > 100 and data.lstrip().startswith(IMAGE_MAGIC), f"{page}: {src[:80]} is not a picture"
    info = json.loads((site / 'build.json').read_text())
    executed = info['executed'] == info['notebooks'] or PAGES[page][1]
    if executed and page != 'index.html' and 'cell-output' not in dom:   # index's cells print nothing
        pytest.fail(f"{page} shows no cell outputs")
    if info.get('katex') and '\\(' in (site / page).read_text():  # KaTeX served by the site typeset the maths
        if 'class="katex"' not in dom: pytest.fail(f"{page}: the maths was not typeset")
    shots = Path(os.environ.get('CPMM_DOCS_SCREENSHOTS') or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / (page.replace('/', '_').removesuffix('.html') + '.png')
    chromium(f'--screenshot={png}', '--window-size=1280,1800', server + page)
    assert png.stat().st_size > 10_000 and png.read_bytes().startswith(IMAGE_MAGIC[0])


def test_no_page_shows_a_traceback(site):
    "No page of the site, executed or not, shows a Python traceback."
    pages = list(site.rglob('*.html'))
    assert len(pages) >= len(PAGES)
    bad = [str(p.relative_to(site)) for p in pages if TRACEBACK.search(p.read_text(errors='replace'))]
    assert not bad, bad
