"""SageMaker fixes. Most SageMaker settings are immutable, so the only safe in-place action for an
internet-facing notebook is to stop it (disruptive: opt-in by name)."""

from __future__ import annotations

from aiwarden.clients import Clients
from aiwarden.model import Resource
from aiwarden.remediation import fix


@fix(
    check_id="sagemaker_notebook_direct_internet_access_disabled",
    action="stop the internet-facing notebook instance",
    permissions=["sagemaker:StopNotebookInstance"],
    disruptive=True,
)
def stop_internet_facing_notebook(notebook: Resource, clients: Clients) -> str:
    status = notebook.data.get("NotebookInstanceStatus")
    if status in {"Stopped", "Stopping", "Failed", "Deleting"}:
        return f"notebook {notebook.name} is already {status}; recreate it without direct internet access"
    clients.client("sagemaker", notebook.ref.region).stop_notebook_instance(
        NotebookInstanceName=notebook.name
    )
    return (
        f"stopped notebook {notebook.name}; its storage is kept. Recreate it with direct internet "
        "access disabled in a VPC (the setting cannot be changed in place)"
    )
