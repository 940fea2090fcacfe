"""Peak memory and time of one training step of the conv CPMM on 28×28 images, with and without the adjoint.

    python bench/conv_memory.py                                  # rk4 h=0.05 (package default) and midpoint h=0.125
    python bench/conv_memory.py --configs rk4:0.05 --batch 256 --steps 3 --threads 1

One step = `cpmm.train.Trainer.run_epoch` on exactly one batch: 25 sorted uniform pseudotimes, the ODE solve of
`NodeMFA(C=10, G=25, M=784, R=8, net='conv', image_shape=(1, 28, 28))`, the hierarchical-MFA negative
log-likelihood of the batch (plus the entropy term), backward, and an Adam step.

Each (solver, adjoint) configuration runs in a fresh Python subprocess, so that peaks do not carry over:
* peak RSS increase = `resource.getrusage(RUSAGE_SELF).ru_maxrss` after the first step minus before it (the model,
  the data and the imports are already resident; the first step includes Adam's state allocation). The absolute
  peak RSS of the process is printed too.
* peak tensor memory = the high-water mark of CPU tensor allocations during a later step, from `torch.profiler`'s
  memory events (`peak_memory`; run in another fresh subprocess, because the profiler itself costs memory).
* seconds per step = mean wall time of `--steps` steps after the first (the first one is reported separately).
Target: peak under 8 GiB.
"""
from __future__ import annotations
import argparse, json, os, re, resource, subprocess, sys, tempfile, time

GiB = 2 ** 30
KINETO_LOG = r'^(USDT|STAGE|INFO|WARNING|ERROR):\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+:\d+ \S+\.cpp:\d+\] '   # the profiler library's log lines


def peak_memory(step) -> float:
    "Peak of CPU tensor memory allocated while running `step()`, in bytes: the running sum of `torch.profiler`'s allocation events."
    import numpy as np
    from torch.profiler import profile, ProfilerActivity
    # The profiler's C++ library (kineto) logs to file descriptor 2 on every run, and on a machine without a GPU
    # adds "ERROR ... gpuGetDeviceCount failed": hold its log lines back while profiling; pass any other output on.
    sys.stderr.flush()
    saved, held = os.dup(2), tempfile.TemporaryFile()
    os.dup2(held.fileno(), 2)
    try:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof: step()
        with tempfile.TemporaryDirectory() as d:            # the public record of every allocation: the Chrome trace
            prof.export_chrome_trace(os.path.join(d, 'trace.json'))
            with open(os.path.join(d, 'trace.json')) as f: events = json.load(f)['traceEvents']
    finally:
        sys.stderr.flush(); os.dup2(saved, 2); os.close(saved)
        held.seek(0)
        rest = [l for l in held.read().decode(errors='replace').splitlines(True) if not re.match(KINETO_LOG, l)]
        held.close()
        if rest: sys.stderr.write(''.join(rest))
    ev = sorted(((e['ts'], e['args']['Bytes']) for e in events if e.get('name') == '[memory]'), key=lambda e: e[0])
    return float(np.max(np.cumsum([b for _, b in ev]), initial=0))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--configs', default='rk4:0.05,midpoint:0.125', help='comma-separated solver:step_size pairs')
    p.add_argument('--adjoint', choices=['both', 'off', 'on'], default='both')
    p.add_argument('--batch', type=int, default=256)
    p.add_argument('--clusters', type=int, default=10)
    p.add_argument('--components', type=int, default=25)
    p.add_argument('--rank', type=int, default=8)
    p.add_argument('--steps', type=int, default=2, help='timed steps after the first')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--no-profiler', action='store_true', help='skip the torch.profiler tensor-memory measurement')
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)   # internal: JSON config of one measurement
    return p.parse_args(argv)


def child(cfg:dict):
    "One measurement in this (fresh) process; prints one JSON line."
    import torch
    torch.set_num_threads(cfg['threads'])
    from cpmm.node import NodeMFA
    from cpmm.train import Trainer
    g = torch.Generator().manual_seed(0)
    M = 784
    X = 3 * torch.randn(cfg['batch'], M, generator=g) - 4            # logit-space-like values; memory does not depend on them
    param = NodeMFA(cfg['clusters'], cfg['components'], M, cfg['rank'], net='conv', image_shape=(1, 28, 28),
                    method=cfg['method'], step_size=cfg['step_size'], adjoint=cfg['adjoint'])
    param.init_from_data(X, method='kmeans')
    tr = Trainer(param, lr=1e-3, batch_size=cfg['batch'], entropy_weight=1.0, noise_std=0.01, progress=False)
    out = dict(cfg, n_params=sum(p.numel() for p in param.parameters()), state_shape=list(param.state_shape))
    if cfg['mode'] == 'rss':
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024      # Linux: KiB
        t = time.perf_counter(); rec = tr.run_epoch(X); first = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        ts = []
        for _ in range(cfg['steps']):
            t = time.perf_counter(); rec = tr.run_epoch(X); ts.append(time.perf_counter() - t)
        out.update(rss_before=before, rss_peak=after, rss_increase=after - before, first_step_s=first,
                   step_s=sum(ts) / len(ts) if ts else None, loss=rec['train_nll'],
                   finite=bool(all(torch.isfinite(p).all() for p in param.parameters())))
    else:
        tr.run_epoch(X)                                                   # Adam state exists from here on
        out.update(tensor_peak=peak_memory(lambda: tr.run_epoch(X)))
    print('RESULT ' + json.dumps(out), flush=True)


def run_child(cfg:dict) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(cfg['threads']), MKL_NUM_THREADS=str(cfg['threads']))
    r = subprocess.run([sys.executable, os.path.abspath(__file__), '--child', json.dumps(cfg)],
                       capture_output=True, text=True, env=env)
    line = next((l for l in r.stdout.splitlines() if l.startswith('RESULT ')), None)
    if r.returncode or line is None:
        raise RuntimeError(f'measurement {cfg} failed (exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}')
    return json.loads(line[len('RESULT '):])


def main(a):
    import torch
    print(f"torch {torch.__version__}, {a.threads} thread(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"conv CPMM: NodeMFA(C={a.clusters}, G={a.components}, M=784, R={a.rank}, net='conv', image_shape=(1,28,28)), "
          f"batch {a.batch}; one step = Trainer.run_epoch on one batch (forward + backward + Adam)")
    adj = {'both': [False, True], 'off': [False], 'on': [True]}[a.adjoint]
    rows = []
    for spec in a.configs.split(','):
        method, step = spec.split(':')
        for adjoint in adj:
            cfg = dict(method=method, step_size=float(step), adjoint=adjoint, batch=a.batch, clusters=a.clusters,
                       components=a.components, rank=a.rank, steps=a.steps, threads=a.threads, mode='rss')
            r = run_child(cfg)
            if not a.no_profiler: r['tensor_peak'] = run_child(dict(cfg, mode='prof'))['tensor_peak']
            rows.append(r)
            print(f"  measured {method} h={step} adjoint={adjoint}: +{r['rss_increase'] / GiB:.3f} GiB RSS, "
                  f"{r['step_s']:.2f} s/step", flush=True)
    head = (f"{'solver':9s} {'h':>6s} {'adjoint':>7s} {'peak RSS increase':>18s} {'peak RSS (process)':>19s} "
            f"{'peak tensors':>13s} {'1st step s':>10s} {'s/step':>7s} {'finite':>6s}")
    print(); print(head); print('-' * len(head))
    for r in rows:
        tp = f"{r['tensor_peak'] / GiB:.3f} GiB" if 'tensor_peak' in r else '-'
        print(f"{r['method']:9s} {r['step_size']:6g} {str(r['adjoint']):>7s} {r['rss_increase'] / GiB:14.3f} GiB "
              f"{r['rss_peak'] / GiB:15.3f} GiB {tp:>13s} {r['first_step_s']:10.2f} {r['step_s']:7.2f} {str(r['finite']):>6s}")
    worst = max(max(r['rss_increase'], r.get('tensor_peak', 0)) for r in rows)
    print(f"target < 8 GiB: {'met' if worst < 8 * GiB else 'NOT met'} (largest measured peak increase {worst / GiB:.3f} GiB); "
          f"state {rows[0]['state_shape']} per trajectory, {rows[0]['n_params']} parameters; "
          f"s/step = mean of {a.steps} step(s) after the first; load average now {os.getloadavg()[0]:.2f}")


if __name__ == '__main__':
    a = parse_args()
    if a.child: child(json.loads(a.child))
    else: main(a)
