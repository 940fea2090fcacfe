"""Throughput of `cpmm.mfa.MFA.log_prob` on this machine, beside its baselines from the same run.

    python bench/mfa_speed.py [--n 10000] [--m 784] [--r 8] [--repeats 3]

Baselines: scikit-learn `GaussianMixture.score_samples` ('diag' at K=250, 'full' at K=50) and
`torch.distributions.LowRankMultivariateNormal` (chunked over samples so it fits in memory), plus the
float32 matmul rate of this machine for a product of the same size as the MFA's main one.
Targets (issue 2): >= 30x scikit-learn 'full' at K=50, >= 40% of the matmul rate at K=250.
"""
import argparse, time, math
import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from cpmm.mfa import MFA, random_mfa


def best_time(f, repeats):
    f()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def sk_gmm(K, M, cov, seed=0):
    "A scikit-learn GaussianMixture with random parameters set directly (scoring cost does not depend on fitting)."
    rng = np.random.default_rng(seed)
    g = GaussianMixture(K, covariance_type=cov)
    g.weights_ = np.full(K, 1 / K)
    g.means_ = rng.normal(size=(K, M))
    if cov == 'diag':
        g.covariances_ = np.exp(rng.normal(size=(K, M)))
        g.precisions_cholesky_ = 1 / np.sqrt(g.covariances_)
    else:
        A = rng.normal(size=(K, M, 8)) / 3
        S = A @ A.transpose(0, 2, 1) + np.eye(M)
        g.covariances_ = S
        g.precisions_cholesky_ = np.stack([np.linalg.inv(np.linalg.cholesky(s)).T for s in S])
    return g


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=10_000); p.add_argument('--m', type=int, default=784)
    p.add_argument('--r', type=int, default=8); p.add_argument('--repeats', type=int, default=3)
    a = p.parse_args()
    N, M, R = a.n, a.m, a.r
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; N={N}, M={M}, R={R}")
    x = torch.randn(N, M)
    xn = x.double().numpy()
    rows = []
    with torch.no_grad():
        for K in (250, 50):
            m = random_mfa(K, M, R, scale=2.)
            t_mfa = best_time(lambda: m.log_prob(x), a.repeats)
            # the matmul this is bounded by: (N, M) @ (M, K (R + 2)) in float32
            W = torch.randn(M, K * (R + 2))
            t_mm = best_time(lambda: x @ W, a.repeats)
            flops = 2 * N * M * K * (R + 2)
            lr = torch.distributions.LowRankMultivariateNormal(m.mu, m.A, m.log_d.exp())
            chunk = max(1, int(2e8 // (K * M)))
            t_lr = best_time(lambda: torch.cat([lr.log_prob(x[i:i + chunk, None]) for i in range(0, N, chunk)]), 1)
            cov = 'diag' if K == 250 else 'full'
            g = sk_gmm(K, M, cov)
            t_sk = best_time(lambda: g.score_samples(xn), 1)
            rows.append((K, t_mfa, t_mm, flops, t_lr, cov, t_sk))
    print(f"\n{'K':>4} {'MFA samples/s':>14} {'LowRankMVN':>12} {'sklearn':>16} {'x LowRank':>10} {'x sklearn':>10} {'matmul GFLOP/s':>15} {'MFA GFLOP/s':>12} {'of matmul':>10}")
    for K, t_mfa, t_mm, flops, t_lr, cov, t_sk in rows:
        print(f"{K:>4} {N / t_mfa:>14,.0f} {N / t_lr:>12,.0f} {N / t_sk:>10,.0f} ({cov:>4}) {t_lr / t_mfa:>9.1f}x {t_sk / t_mfa:>9.1f}x "
              f"{flops / t_mm / 1e9:>15.1f} {flops / t_mfa / 1e9:>12.1f} {t_mm / t_mfa:>9.0%}")
    K250, K50 = rows
    print(f"\ntargets: >= 30x sklearn 'full' at K=50: {K50[6] / K50[1]:.1f}x; >= 40% of matmul rate at K=250: {K250[2] / K250[1]:.0%}")


if __name__ == '__main__':
    main()
