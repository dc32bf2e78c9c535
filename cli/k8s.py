"""`yibao k8s manifests`: write (or `--check`) the Kubernetes manifests in deploy/k8s/.

    yibao k8s manifests              # regenerate deploy/k8s/*.yaml from the definitions and settings.toml
    yibao k8s manifests --check      # exit 1, naming the files, when the committed ones are out of date
    yibao k8s manifests --settings staging.toml --out /tmp/k8s-staging   # another deployment's variant

The generator is `cli.k8s_manifests`; it is imported only when the command runs (it loads every service).
"""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Kubernetes manifests (deploy/k8s/), generated.")


@app.command("manifests")
def manifests_command(
    check: bool = typer.Option(False, help="Only verify the files in --out are what the definitions generate."),
    settings: Path | None = typer.Option(None, help="Deployment settings (default: deploy/k8s/settings.toml)."),
    out: Path | None = typer.Option(None, help="Folder of the manifests (default: deploy/k8s/)."),
) -> None:
    """Generate the Strimzi, CloudNativePG, KEDA and service manifests from topics, ACLs, contracts and settings."""
    from cli import k8s_manifests

    deploy = k8s_manifests.load_settings(settings or k8s_manifests.SETTINGS_FILE)
    folder = out or k8s_manifests.K8S
    if check:
        outdated = k8s_manifests.stale(deploy, folder)
        if outdated:
            typer.echo(f"Kubernetes manifests out of date: {', '.join(outdated)}; run `yibao k8s manifests`", err=True)
            raise typer.Exit(1)
        typer.echo(f"Kubernetes manifests in {folder} are current")
        return
    for path in k8s_manifests.write(deploy, folder):
        typer.echo(f"wrote {path}")
