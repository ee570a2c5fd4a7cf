"""`tierdesk doctor`: reach every configured helpdesk and check that the mappings fit the account
(credentials, permissions, and every field, option, status, group, person, brand, project and
organization they refer to). `findings` is the model, `runner` the checks, `output` the lines."""

from connector.doctor.findings import Finding, FindingKind
from connector.doctor.output import exit_code, render
from connector.doctor.runner import run_doctor

__all__ = ["Finding", "FindingKind", "exit_code", "render", "run_doctor"]
