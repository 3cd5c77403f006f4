"""The `check` flow: project -> fresh venv -> install -> its own tests -> framework checks ->
its server (gunicorn or the framework's own, production config) -> nginx in front -> HTTP
probes -> graceful shutdown -> report.

`preflight` refuses what cannot be checked before anything exists; `runner` orders the stages
of `stages` (venv, install, tests, checks) and `serving` (server, nginx, shutdown) in a
`workspace` that is removed in all cases, Ctrl-C included; `report` holds what they return.

`rehearsal` (`scaffold check --systemd`) deploys the project with its own deploy/install.sh
into a throwaway systemd machine instead, built from `wheelhouse`, probed by `machine_probes`;
`cluster` (`--app-hosts N`) onto several, with deploy/ansible/site.yml.
"""

from scaffold.check.cluster import run_cluster_rehearsal
from scaffold.check.rehearsal import run_rehearsal
from scaffold.check.report import (
    STAGES,
    CheckReport,
    Progress,
    StageFailed,
    StageResult,
    failure,
    result_lines,
)
from scaffold.check.runner import run_check

__all__ = [
    "STAGES",
    "CheckReport",
    "Progress",
    "StageFailed",
    "StageResult",
    "failure",
    "result_lines",
    "run_check",
    "run_cluster_rehearsal",
    "run_rehearsal",
]
