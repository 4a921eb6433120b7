"""Where the per-book work runs: in this process, a local process pool, or a Dask cluster.

:func:`runner` picks one for a batch. Each runner takes the batch's
:class:`~khbook.batch.records.Task` records and yields ``(task, result)`` pairs as the books
finish, in whatever order they finish;
:func:`khbook.batch.run.run_batch` collects them, reports progress and puts them back in
the folder's order before consolidating, so the outputs do not depend on the runner.

- :func:`serial` runs :func:`~khbook.batch.worker.process` in this process (``--jobs 1``);
- :func:`process_pool` on a :class:`~concurrent.futures.ProcessPoolExecutor` (``--jobs N``);
- :func:`dask_cluster` maps ``process`` over the tasks on a Dask distributed scheduler
  (``--scheduler ADDRESS``, the optional extra ``khbook[dask]``) and consumes its
  ``as_completed`` stream. The workers read the inputs and write the annotated copies
  themselves, so the input folder, the output folder and a ``--spec`` folder must be visible
  to them at the same paths (a shared file system); the built-in spec is the workers' own
  (:func:`runner` refuses workers that run another khbook version). Only the small result
  records travel back.

A worker that dies (or a book the cluster loses) is listed as a failure of that book and the
batch goes on; a scheduler that cannot be reached or used is a one-line WorkbookError.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from khbook.base import version
from khbook.base.errors import Hint, WorkbookError
from khbook.batch.records import Failure, FileSummary, Task
from khbook.batch.worker import failure, process
from khbook.spec import Spec, default_spec_dir

__all__ = ["CONNECT_TIMEOUT", "Outcome", "Runner", "dask_cluster", "process_pool", "runner", "serial", "worker_version"]

CONNECT_TIMEOUT = 5  # seconds to reach the scheduler before giving up
Outcome = tuple[Task, FileSummary | Failure]
Runner = Callable[[list[Task], Spec], Iterator[Outcome]]   # the tasks -> (task, result) as each book finishes


def _died(task: Task, spec: Spec, exc: BaseException) -> Outcome:
    return task, failure(task.rel, spec, task.lang, "worker_died", f"{type(exc).__name__}: {exc}")


def serial(tasks: list[Task], spec: Spec) -> Iterator[Outcome]:
    """Every book in this process, in order."""
    for t in tasks:
        yield t, process(t)


def process_pool(tasks: list[Task], jobs: int, spec: Spec) -> Iterator[Outcome]:
    """The books on `jobs` local worker processes, as they finish."""
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
        futures = {pool.submit(process, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                yield futures[fut], fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (e.g. out of memory): list the file
                yield _died(futures[fut], spec, exc)


def _unreachable(address: str, detail: str) -> WorkbookError:
    return WorkbookError(address, f"cannot reach the Dask scheduler within {CONNECT_TIMEOUT} seconds",
                         Hint("scheduler_address", "check the address, that the scheduler is running "
                                                   "and that this machine can reach its port"),
                         code="scheduler_unreachable", params={"seconds": CONNECT_TIMEOUT, "detail": detail})


def _connect(address: str) -> Any:
    """A Dask ``Client`` connected to the scheduler at `address` (WorkbookError when that fails)."""
    try:
        from distributed import Client
    except ImportError:
        raise WorkbookError(address, "--scheduler needs the Dask distributed package",
                            Hint("install_dask", "install it with pip install 'khbook[dask]'"),
                            code="scheduler_needs_dask") from None
    try:
        # a bare connection first: a Client that fails half-way leaves a thread that complains at exit
        asyncio.run(_probe(address))
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except OSError as exc:  # refused, timed out, no such host
        raise _unreachable(address, f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - no port, an unknown scheme, tls:// without certificates
        raise WorkbookError(address, "cannot use this Dask scheduler address",
                            Hint("scheduler_form", "write it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786; "
                                                   "a tls:// address also needs Dask's security settings"),
                            code="scheduler_bad_address", params={"detail": f"{type(exc).__name__}: {exc}"}) from None


async def _probe(address: str) -> None:
    """Open and close one connection to `address` (raises when nothing answers in time)."""
    from distributed.comm import connect
    from distributed.security import Security

    # the Client's own TLS settings (Dask's configuration), so a tls:// scheduler is probed as it will be used
    comm = await connect(address, timeout=CONNECT_TIMEOUT, **Security().get_connection_args("client"))
    await comm.close()


def _for_workers(task: Task) -> Task:
    """The task as a worker on another machine must see it: absolute paths (the same on the shared
    file system, so not resolved through links) and the built-in spec as the worker's own (khbook
    may be installed at another path there)."""
    builtin = task.spec_dir and Path(task.spec_dir).resolve() == default_spec_dir().resolve()
    return replace(task, src=os.path.abspath(task.src), outdir=os.path.abspath(task.outdir),
                   spec_dir="" if builtin else os.path.abspath(task.spec_dir))


def dask_cluster(tasks: list[Task], client: Any, spec: Spec) -> Iterator[Outcome]:
    """The books on the Dask cluster of `client` (a connected ``distributed.Client``), as they finish."""
    from distributed import as_completed as dask_as_completed

    tasks = [_for_workers(t) for t in tasks]
    # one message for the whole folder; pure=False: each run reads the books afresh
    submitted = client.map(process, tasks, pure=False)
    owner = {fut.key: t for fut, t in zip(submitted, tasks, strict=True)}
    for fut in dask_as_completed(submitted, loop=client.loop):
        task = owner[fut.key]
        try:
            yield task, fut.result()
        except Exception as exc:  # noqa: BLE001 - a worker died or the cluster lost the book
            yield _died(task, spec, exc)
        finally:
            fut.release()


@contextmanager
def runner(jobs: int, scheduler: str | None = None) -> Iterator[Runner]:
    """The runner for this batch: the Dask cluster at `scheduler`, else `jobs` local processes
    (in this process for 1). Connects to the scheduler on entry, so an unreachable one raises
    WorkbookError (``scheduler_unreachable``, ``scheduler_bad_address``; ``scheduler_needs_dask``
    without the package; ``scheduler_workers_version`` when a worker runs another khbook)
    before anything is written, and closes the connection on exit."""
    if scheduler is None:
        yield lambda tasks, spec: (serial(tasks, spec) if jobs <= 1 or len(tasks) <= 1
                                   else process_pool(tasks, jobs, spec))
        return
    client = _connect(scheduler)
    try:
        _check_workers(client, scheduler)
        yield lambda tasks, spec: dask_cluster(tasks, client, spec)
    finally:
        client.close()


def worker_version() -> str:
    """The khbook version of the process it runs in (each worker's, by :func:`_check_workers`)."""
    return version.__version__


def _check_workers(client: Any, address: str) -> None:
    """WorkbookError (``scheduler_workers_version``) when a worker of the cluster does not run this
    machine's khbook version (or has no khbook at all): its books could come back different."""
    ours = version.__version__
    try:
        found: dict[str, object] = client.run(worker_version, on_error="return")
    except Exception as exc:  # noqa: BLE001 - the cluster could not even be asked
        found = {address: exc}
    other = {w: v if isinstance(v, str) else type(v).__name__ for w, v in found.items() if v != ours}
    if other:
        raise WorkbookError(address, f"{len(other)} of the cluster's workers do not run this machine's khbook {ours}",
                            Hint("same_khbook", "install the same khbook[dask] on every worker"),
                            code="scheduler_workers_version",
                            params={"count": len(other), "version": ours,
                                    "detail": ", ".join(f"{w}: {v}" for w, v in sorted(other.items()))})
