"""Each file as a Ray task, on a local Ray instance or a cluster (``--executor ray --address ...``).

Optional: needs ``pip install .[ray]``. Outputs are written by the task where it runs, so on a
multi-machine cluster IN_DIR and OUT_DIR must be on a shared file system; the journal stays with
the coordinating process. When the cluster has GPUs, a job whose graph has a GPU-filling node asks
Ray for one whole GPU, so Ray runs at most one such job per GPU.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import AudiostyleError
from .job import JobSpec, run_job


def _run_remote(spec: JobSpec):
    return run_job(spec)


def _ready() -> None:
    import time

    from ..run import default_registry

    default_registry()
    time.sleep(0.3)


class RayExecutor:
    def __init__(self, address: str | None = None, workers: int = 1):
        try:
            import ray
        except ImportError:
            raise AudiostyleError("--executor ray needs Ray; install it with: pip install '.[ray]' "
                                  "(or use the default local executor)") from None
        self._ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            engine = Path(__file__).resolve().parents[1]
            # Ship this code to the workers; the cluster needs the same third-party packages installed.
            runtime_env = {"py_modules": [str(engine), str(engine.parent / "nodes")]}
            kwargs = dict(runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
                          configure_logging=False)
            if address is None:
                kwargs["num_cpus"] = workers  # a local instance: --workers is its size
            else:
                kwargs["address"] = address
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise AudiostyleError(f"cannot start or reach Ray at {address or 'a local instance'}: "
                                      f"{str(exc).strip().splitlines()[0]}") from None
        resources = ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        self.capacity = max(1, int(resources.get("CPU", workers))) if address else workers
        self._task = ray.remote(_run_remote)

    def submit(self, spec: JobSpec):
        if spec.exclusive_device and self.gpus and spec.device != "cpu":
            task = self._task.options(num_gpus=1, num_cpus=1)
            spec = dataclasses.replace(spec, device="cuda", lock_gpu=False)
        else:
            task = self._task.options(num_cpus=1)
            if spec.device == "auto":
                spec = dataclasses.replace(spec, device="cpu")  # no GPU was reserved for this task
        return task.remote(spec).future()

    def warm_up(self) -> None:
        """Start the Ray workers (and unpack the shipped code) before the first file."""
        ready = self._ray.remote(_ready)
        self._ray.get([ready.options(num_cpus=1).remote() for _ in range(self.capacity)])

    def progress_events(self) -> list:
        return []

    def shutdown(self, wait: bool = True) -> None:
        if self._started_here:
            self._ray.shutdown()
