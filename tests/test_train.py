"Tests of cpmm.train that need processes: data-parallel training with gloo, and resume after a real kill."
import datetime, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from cpmm.direct import DirectMFA
from cpmm.train import Trainer, fit

STEPS, B = 4, 64


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(STEPS * B, 3, generator=g) * torch.tensor([1., 2., 0.5]) + 1


def _model():
    return DirectMFA(2, 3, 3, 1).init_from_data(_data(), method='random', seed=0)


def _ddp_worker(rank, world, store, out):
    torch.set_num_threads(1)                                     # as the single-process reference below
    dist.init_process_group('gloo', init_method=f'file://{store}', rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=60))   # a file store: no port to collide on
    try:
        tr = Trainer(_model(), lr=0.05, batch_size=B, entropy_weight=0.5, progress=False, seed=3)
        assert (tr.rank, tr.world) == (rank, world)
        tr.run_epoch(_data())
        if rank == 0: torch.save({k: v.detach().clone() for k, v in tr.param.state_dict().items()}, out)
        dist.barrier()                                           # both done before either tears gloo down
    finally:
        dist.destroy_process_group()
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(0)   # done: skip the interpreter's teardown, where gloo's threads can abort (SIGABRT) after the work is saved


def test_ddp_two_gloo_processes_match_single_process(tmp_path):
    out, store = tmp_path / 'ddp.pt', tmp_path / 'store'
    ctx = mp.start_processes(_ddp_worker, args=(2, str(store), str(out)), nprocs=2, join=False, start_method='spawn')
    deadline = time.monotonic() + 120
    while not ctx.join(timeout=5):
        if time.monotonic() > deadline:
            for p in ctx.processes: p.kill()
            pytest.fail("the two gloo workers did not finish within 120 s")
    ddp = torch.load(out, weights_only=True)
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    try:
        single = Trainer(_model(), lr=0.05, batch_size=B, entropy_weight=0.5, progress=False, seed=3)
        single.run_epoch(_data())
    finally: torch.set_num_threads(threads)
    moved = False
    for k, v in single.param.state_dict().items():
        torch.testing.assert_close(ddp[k], v, rtol=1e-5, atol=1e-6)
        moved |= not torch.equal(v, _model().state_dict()[k])
    assert moved, "training did not change the parameters"


SCRIPT = textwrap.dedent("""
    import sys, time, torch
    from cpmm.direct import DirectMFA
    from cpmm.train import fit
    g = torch.Generator().manual_seed(0)
    X = torch.randn(600, 2, generator=g)
    p = DirectMFA(2, 2, 2, 1).init_from_data(X, method='random', seed=0)
    def pause(tr, rec):
        print('epoch', tr.epoch, flush=True)
        if tr.epoch == 2 and sys.argv[2] == 'pause': time.sleep(120)
    tr = fit(p, X, epochs=4, lr=0.05, batch_size=64, schedule='cosine', checkpoint=sys.argv[1],
             resume=True, seed=5, progress=False, callback=pause)
    torch.save(tr.param.state_dict(), sys.argv[1] + '.final')
""")


def test_resume_after_kill_ends_where_uninterrupted_run_ends(tmp_path):
    script = tmp_path / 'run.py'; script.write_text(SCRIPT)
    killed, clean = tmp_path / 'killed.ckpt', tmp_path / 'clean.ckpt'
    p = subprocess.Popen([sys.executable, str(script), str(killed), 'pause'], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.strip() == 'epoch 2': break
    p.send_signal(signal.SIGKILL); p.wait()
    assert torch.load(killed, weights_only=True)['epoch'] == 2
    assert not list(tmp_path.glob('.*.tmp*')), "a temporary checkpoint was left behind"
    subprocess.run([sys.executable, str(script), str(killed), 'go'], check=True, capture_output=True)
    subprocess.run([sys.executable, str(script), str(clean), 'go'], check=True, capture_output=True)
    a = torch.load(str(killed) + '.final', weights_only=True)
    b = torch.load(str(clean) + '.final', weights_only=True)
    for k in a: torch.testing.assert_close(a[k], b[k])


def test_zero_epochs_with_cosine_schedule_trains_nothing():
    p = _model()
    before = {k: v.clone() for k, v in p.state_dict().items()}
    tr = fit(p, _data(), epochs=0, schedule='cosine', progress=False)
    assert tr.epoch == 0 and tr.history == []
    for k, v in p.state_dict().items(): assert torch.equal(v, before[k]), k
