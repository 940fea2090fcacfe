"""Held-out NLL of the FFJORD teacher `cpmm.cnf.CNF` on a 2-D toy within a CPU budget, beside scikit-learn GMMs.

    OMP_NUM_THREADS=1 python bench/cnf_toy.py [--toy moons] [--budget 120] [--objective ml] [--method rk4] [--step 0.1] [--kinetic 0]

Trains on `--n` points (seed 0) epoch by epoch (resuming from a checkpoint, so Adam's state carries over) until
`--budget` seconds of training wall time on `--threads` threads are spent, then reports the test NLL (nats per
point, `--n` points from seed 1) with the training solver and with dopri5 (rtol = atol = 1e-5), beside
`GaussianMixture(covariance_type='full')` with 2, 5 and 10 components fitted on the same training set.
Toys: any of `cpmm.toys.TOYS` (moons, circles, broken_circles, spiral, pinwheel, checkerboard, eight_gaussians), with
the registry's parameters. (Before the registry, 'moons' here was make_moons with noise 0.1, scaled ×2, and 'circles'
the broken circles with noise 0.05; no results of those were kept.)
"""
import argparse, tempfile, time
from pathlib import Path
import torch
from sklearn.mixture import GaussianMixture
from cpmm.cnf import CNF
from cpmm.toys import TOYS, make_toy


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--toy', default='moons', choices=list(TOYS))
    p.add_argument('--n', type=int, default=2000)
    p.add_argument('--budget', type=float, default=120., help='seconds of training')
    p.add_argument('--objective', default='ml', choices=['ml', 'fm'])
    p.add_argument('--method', default='rk4')
    p.add_argument('--step', type=float, default=0.1)
    p.add_argument('--lr', type=float, default=5e-3)
    p.add_argument('--kinetic', type=float, default=0., help='weight of the kinetic-energy penalty (ml only)')
    p.add_argument('--batch', type=int, default=256)
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    X, Xt = make_toy(a.toy, a.n, 0)[0], make_toy(a.toy, a.n, 1)[0]
    flow = CNF(2, hidden=a.hidden, method=a.method, step_size=a.step)
    spent, epochs = 0., 0
    with tempfile.TemporaryDirectory() as d:
        ck = Path(d) / 'cnf.pt'
        while spent < a.budget:
            epochs += 1
            t = time.process_time()
            flow.fit(X, epochs=epochs, batch_size=a.batch, lr=a.lr, checkpoint=ck, resume=True, progress=False,
                     objective=a.objective, kinetic=a.kinetic)
            spent += time.process_time() - t
    h = flow.history[-1]
    if a.verbose: print([round(r.get("train_nll", r.get("train_fm")), 3) for r in flow.history])
    nll = flow.nll(Xt)
    fine = CNF(2, hidden=a.hidden, method='dopri5', rtol=1e-5, atol=1e-5)
    fine.load_state_dict(flow.state_dict())
    t = time.perf_counter(); nll_fine = fine.nll(Xt); t_eval = time.perf_counter() - t
    print(f"toy={a.toy} n={a.n} objective={a.objective} kinetic={a.kinetic} solver={a.method}(step {a.step}) lr={a.lr} threads={a.threads}")
    print(f"teacher: {epochs} epochs, {h['step']} steps, {spent:.0f} CPU-s of training")
    print(f"  test NLL {nll:.3f} (training solver), {nll_fine:.3f} (dopri5 1e-5, {t_eval:.1f} s, nfe {fine.nfe})")
    for k in (2, 5, 10):
        g = GaussianMixture(k, covariance_type='full', n_init=3, random_state=0).fit(X.numpy())
        print(f"GaussianMixture(full, {k:2d}): test NLL {-g.score(Xt.numpy()):.3f}")


if __name__ == '__main__':
    main()
